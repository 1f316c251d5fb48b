// Every model call of a discrete tuning run goes through the meter: answered from the cache when it can be,
// otherwise made, written to the cache, and counted — tokens, dollars, new calls. Before a new call the meter
// checks the budget (dpt.budget_usd / dpt.budget_tokens, which count the whole run's spending, replayed
// cached calls included) and the call limit (dpt.stop_after_calls); past either, it throws RunStopped, a
// clean stop: everything answered so far is in the cache, and a rerun continues from there.
#pragma once
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/error.h"
#include "dpt/call_cache.h"

namespace emotune {

class RunStopped : public Error {
 public:
  using Error::Error;
};

struct Spend {
  int64_t new_calls = 0, cached_calls = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double usd = 0;
};

class CallMeter {
 public:
  CallMeter(CallCache& cache, const DiscreteConfig& config) : cache_(cache), config_(config) {}

  std::optional<CallRecord> cached(const std::string& key);  // counts the replayed spending
  void before_new_call();                                     // throws RunStopped past a limit
  void record(const std::string& key, const CallRecord& record);
  // cached(key), or before_new_call() + make() + record().
  CallRecord call(const std::string& key, const std::function<CallRecord()>& make);

  Spend spend() const;

 private:
  void add(const CallRecord& r);
  CallCache& cache_;
  const DiscreteConfig& config_;
  mutable std::mutex mutex_;
  Spend spend_;
  int64_t started_ = 0;
};

}  // namespace emotune
