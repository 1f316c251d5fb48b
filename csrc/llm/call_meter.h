// Every model call of a run that asks an LLM (discrete prompt tuning, Lantern's refinement) goes through the meter:
// answered from the cache when it can be, otherwise made, written to the cache, and counted — tokens, dollars, new
// calls. Before a new call the meter checks the budget (CallLimits: dpt.budget_usd / lantern.budget_usd and their
// token budgets, which count the whole run's spending, replayed cached calls included) and the call limit
// (stop_after_calls); past either, it throws RunStopped, a clean stop: everything answered so far is in the cache,
// and a rerun continues from there.
#pragma once
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "core/error.h"
#include "llm/call_cache.h"

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

// The limits of one run, and the config section they came from (named in the stop's message).
struct CallLimits {
  double budget_usd = 0;       // 0: no limit
  int64_t budget_tokens = 0;   // 0: no limit
  int64_t stop_after_calls = 0;  // > 0: stop after this many new calls
  std::string section = "dpt";
};

class CallMeter {
 public:
  CallMeter(CallCache& cache, CallLimits limits) : cache_(cache), limits_(std::move(limits)) {}

  std::optional<CallRecord> cached(const std::string& key);  // counts the replayed spending
  void before_new_call();                                     // throws RunStopped past a limit
  void record(const std::string& key, const CallRecord& record);
  // cached(key), or before_new_call() + make() + record().
  CallRecord call(const std::string& key, const std::function<CallRecord()>& make);

  Spend spend() const;

 private:
  void add(const CallRecord& r);
  CallCache& cache_;
  CallLimits limits_;
  mutable std::mutex mutex_;
  Spend spend_;
  int64_t started_ = 0;
};

}  // namespace emotune
