#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/error.h"

namespace emotune {

namespace {
bool& progress_shown() {
  static bool shown = true;
  return shown;
}
}  // namespace

void set_progress_shown(bool shown) { progress_shown() = shown; }

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds != seconds) return "?";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

ProgressBar::ProgressBar(std::string title, int64_t total, int64_t start)
    : title_(std::move(title)), total_(total), start_(start), tty_(::isatty(STDERR_FILENO) != 0),
      begin_(std::chrono::steady_clock::now()), last_print_(begin_) {}

void ProgressBar::update(int64_t done, int64_t samples, const std::string& extra) {
  if (!progress_shown()) return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - begin_).count();
  double since_print = std::chrono::duration<double>(now - last_print_).count();
  bool last = done >= total_;
  const int64_t tenth = total_ > 0 ? 10 * done / total_ : 10;
  const bool due = tty_ ? since_print >= 0.1 : (tenth > last_tenth_ || since_print >= 60.0);
  if (!last && !due) return;
  if (!tty_ && last && last_tenth_ == 10) return;  // the end was printed already
  last_tenth_ = tenth;
  last_print_ = now;
  double rate = elapsed > 0 ? samples / elapsed : 0.0;
  double unit_rate = elapsed > 0 ? (done - start_) / elapsed : 0.0;
  double eta = unit_rate > 0 ? (total_ - done) / unit_rate : -1;
  const int width = 24;
  int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s [%s] %lld/%lld %s %.1f samples/s elapsed %s eta %s", title_.c_str(),
                bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), extra.c_str(), rate,
                format_duration(elapsed).c_str(), format_duration(eta).c_str());
  last_line_ = buf;
  std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", buf);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (tty_ && !last_line_.empty()) std::fprintf(stderr, "\n");
}

}  // namespace emotune
