// emotune_fuzz_replay TARGET CORPUS_DIR...: every file of the corpora through one fuzz target, in the ordinary
// build (no libFuzzer), as ctest runs it (Fuzz.<target>). Fails on anything but emotune::Error.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

#include "fuzz_target.h"

namespace emotune::fuzz {
namespace {
std::map<std::string, TargetBody>& registry() {
  static std::map<std::string, TargetBody> targets;
  return targets;
}
}  // namespace

bool register_target(const char* name, TargetBody body) {
  registry()[name] = body;
  return true;
}

}  // namespace emotune::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using emotune::fuzz::registry;
  if (argc < 3 || !registry().count(argv[1])) {
    std::fprintf(stderr, "usage: %s TARGET CORPUS_DIR...\ntargets:", argv[0]);
    for (const auto& [name, body] : registry()) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  const auto body = registry()[argv[1]];
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    if (!fs::is_directory(argv[i])) {
      std::fprintf(stderr, "%s: not a directory\n", argv[i]);
      return 2;
    }
    for (const auto& entry : fs::directory_iterator(argv[i]))
      if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no corpus files for %s\n", argv[1]);
    return 2;
  }
  int errors = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      body(input);
    } catch (const emotune::Error&) {
      ++errors;  // a clear error is a right answer to bad input
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s: not an emotune::Error: %s\n", argv[1], file.c_str(), e.what());
      return 1;
    }
  }
  std::printf("%s: %zu inputs replayed (%d answered with a clear error)\n", argv[1], files.size(), errors);
  return 0;
}
