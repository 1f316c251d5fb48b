#include "llm/call_meter.h"

namespace emotune {

void CallMeter::add(const CallRecord& r) {
  spend_.prompt_tokens += r.prompt_tokens;
  spend_.completion_tokens += r.completion_tokens;
  spend_.usd += r.cost_usd;
}

std::optional<CallRecord> CallMeter::cached(const std::string& key) {
  auto hit = cache_.find(key);
  if (hit) {
    std::lock_guard<std::mutex> lock(mutex_);
    spend_.cached_calls++;
    add(*hit);
  }
  return hit;
}

void CallMeter::before_new_call() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto& l = limits_;
  if (l.budget_usd > 0 && spend_.usd >= l.budget_usd)
    throw RunStopped(concat("budget reached: $", spend_.usd, " of ", l.section, ".budget_usd = $", l.budget_usd,
                            " spent; raise the budget and rerun to continue (answered calls are cached)"));
  const int64_t tokens = spend_.prompt_tokens + spend_.completion_tokens;
  if (l.budget_tokens > 0 && tokens >= l.budget_tokens)
    throw RunStopped(concat("token budget reached: ", tokens, " of ", l.section, ".budget_tokens = ", l.budget_tokens,
                            "; raise it and rerun to continue (answered calls are cached)"));
  if (l.stop_after_calls > 0 && started_ >= l.stop_after_calls)
    throw RunStopped(concat("stopped after ", started_, " new calls (", l.section, ".stop_after_calls); rerun to continue"));
  ++started_;
}

void CallMeter::record(const std::string& key, const CallRecord& r) {
  cache_.put(key, r);
  std::lock_guard<std::mutex> lock(mutex_);
  spend_.new_calls++;
  add(r);
}

CallRecord CallMeter::call(const std::string& key, const std::function<CallRecord()>& make) {
  if (auto hit = cached(key)) return *hit;
  before_new_call();
  auto r = make();
  record(key, r);
  return r;
}

Spend CallMeter::spend() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return spend_;
}

}  // namespace emotune
