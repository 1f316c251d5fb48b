#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fuzz_target.h"

namespace emotune::fuzz {

std::string scratch_file(const std::string& name, const std::string& content) {
  static const std::string dir = [] {
    auto base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    auto d = base / ("emotune_fuzz_" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(content.size()));
  return path;
}

std::pair<std::string, std::string> split_at_nul(const std::string& input) {
  const auto nul = input.find('\0');
  if (nul == std::string::npos) return {input, ""};
  return {input.substr(0, nul), input.substr(nul + 1)};
}

}  // namespace emotune::fuzz
