#include "llm/call_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace emotune {
namespace {

uint64_t fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::string call_key(const std::string& request, int64_t sample) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx%016llx:%lld", static_cast<unsigned long long>(fnv1a(request, 14695981039346656037ull)),
                static_cast<unsigned long long>(fnv1a(request, 0x9e3779b97f4a7c15ull) ^ request.size()), static_cast<long long>(sample));
  return buf;
}

CallCache::CallCache(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  if (fs::exists(path_)) {
    std::ifstream in(path_, std::ios::binary);
    std::string line;
    int64_t number = 0;
    std::string pending_error;
    while (std::getline(in, line)) {
      ++number;
      if (!pending_error.empty()) raise(pending_error);  // a bad line that is not the last one
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("key") || !j.contains("text")) {
        pending_error = concat(path_, ":", number, ": unreadable cache entry (expected a JSON object with key and text)");
        continue;
      }
      records_[j["key"].get<std::string>()] = {j["text"].get<std::string>(), j.value("prompt_tokens", int64_t{0}),
                                                j.value("completion_tokens", int64_t{0}), j.value("cost_usd", 0.0)};
    }
    if (!pending_error.empty())
      std::fprintf(stderr, "%s:%lld: ignoring a torn last line (the run was interrupted while writing it)\n", path_.c_str(),
                   static_cast<long long>(number));
    // Rewrite without the torn line, so appends start on a fresh line.
    if (!pending_error.empty()) {
      std::string kept;
      for (const auto& [key, r] : records_)
        kept += nlohmann::json{{"key", key}, {"text", r.text}, {"prompt_tokens", r.prompt_tokens},
                               {"completion_tokens", r.completion_tokens}, {"cost_usd", r.cost_usd}}.dump() + "\n";
      write_file_atomic(path_, kept);
    }
  } else {
    auto parent = fs::path(path_).parent_path();
    if (!parent.empty()) ensure_directory(parent.string());
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) raise(path_, ": cannot open the call cache for appending: ", std::strerror(errno));
}

CallCache::~CallCache() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<CallRecord> CallCache::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = records_.find(key);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

void CallCache::put(const std::string& key, const CallRecord& r) {
  const std::string line = nlohmann::json{{"key", key}, {"text", r.text}, {"prompt_tokens", r.prompt_tokens},
                                          {"completion_tokens", r.completion_tokens}, {"cost_usd", r.cost_usd}}.dump() + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  // One write() of the whole line with O_APPEND, then fsync: a crash leaves at most a torn last line.
  for (size_t done = 0; done < line.size();) {
    auto n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) raise(path_, ": cannot append to the call cache: ", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd_) != 0) raise(path_, ": fsync of the call cache failed: ", std::strerror(errno));
  records_[key] = r;
}

int64_t CallCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(records_.size());
}

}  // namespace emotune
