// The on-disk cache of every model call of a run that asks an LLM (docs/discrete-prompts.md, docs/lantern.md): one JSON line
// per answered call, keyed on the full request plus the sample index, appended and fsync'ed before the
// answer is used. A rerun, or a run resumed after a crash, finds every answered call here and repeats none.
// A torn last line (the process died mid-append) is ignored; any other unreadable line is an error naming
// the file and line.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace emotune {

struct CallRecord {
  std::string text;  // the model's answer
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};

// 128-bit hex digest of the request (two FNV-1a passes with different offsets) and the sample index
// (-1: not tied to a sample, e.g. a proposer call).
std::string call_key(const std::string& request, int64_t sample);

class CallCache {
 public:
  explicit CallCache(std::string path);
  ~CallCache();
  CallCache(const CallCache&) = delete;
  CallCache& operator=(const CallCache&) = delete;

  std::optional<CallRecord> find(const std::string& key) const;
  void put(const std::string& key, const CallRecord& record);  // thread-safe, durable on return
  int64_t size() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, CallRecord> records_;
  mutable std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace emotune
