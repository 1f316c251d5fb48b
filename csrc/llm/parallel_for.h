// Bounded concurrency for model calls: at most `concurrency` calls of fn(0..n-1) in flight. The first
// exception stops workers from taking new items and is rethrown once every worker has finished, so a
// failing call never leaves threads running behind the caller.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace emotune {

inline void parallel_for(int64_t n, int64_t concurrency, const std::function<void(int64_t)>& fn) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (int64_t i; !failed && (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const int64_t threads = std::max<int64_t>(1, std::min(concurrency, n));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace emotune
