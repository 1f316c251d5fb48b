// Progress in a log (stderr not a terminal): a line per tenth of the work, not a frame per update
// (issue 28, finding 7).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "core/progress.h"

namespace emotune {
namespace {

TEST(Progress, InALogOneLinePerTenthOfTheWork) {
  ASSERT_FALSE(::isatty(STDERR_FILENO)) << "run under ctest or with stderr redirected";
  ::testing::internal::CaptureStderr();
  ProgressBar bar("stage 2", 5000);
  for (int64_t step = 1; step <= 5000; ++step) bar.update(step, step * 16, "loss 1.234");
  bar.finish();
  const auto log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(log.find('\r'), std::string::npos) << "no terminal frames in a log";
  const auto lines = std::count(log.begin(), log.end(), '\n');
  EXPECT_GE(lines, 10);
  EXPECT_LE(lines, 12) << log;  // tenths 1..10, plus at most a minute's line on a slow machine
  EXPECT_NE(log.find("5000/5000"), std::string::npos) << "the last line is the end";
}

}  // namespace
}  // namespace emotune
