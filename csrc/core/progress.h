// A progress bar with loss, samples/s and ETA on a terminal; on a pipe or a file (logs) plain lines instead:
// one at every tenth of the work and at most one a minute in between, so a long stage stays a few dozen lines.
#pragma once
#include <chrono>
#include <string>

namespace emotune {

class ProgressBar {
 public:
  ProgressBar(std::string title, int64_t total, int64_t start = 0);
  // `done` counts units (steps, batches); `samples` counts samples processed since construction.
  void update(int64_t done, int64_t samples, const std::string& extra = "");
  void finish();

 private:
  std::string title_;
  int64_t total_, start_;
  bool tty_;
  std::chrono::steady_clock::time_point begin_, last_print_;
  std::string last_line_;
  int64_t last_tenth_ = -1;  // the tenth of the work last printed (logs)
};

std::string format_duration(double seconds);
// Whether bars draw at all in this process: off on every rank of a distributed run but rank 0 (dist/).
void set_progress_shown(bool shown);

}  // namespace emotune
