// The fused aspect-attention CUDA kernels against their LibTorch reference, one ctest case per shape and type
// of the declarative table in kernels/fused_aspect_attention_parity.h (test-backend-ops style). Skipped, saying
// so, where the kernels are not built in or no GPU is seen; scripts/gpu/verify.sh runs them on the GPU.
#include <gtest/gtest.h>

#include "kernels/fused_aspect_attention_parity.h"

namespace emotune {

// gtest's name for a case in listings and failures (found by argument-dependent lookup).
void PrintTo(const KernelParityCase& c, std::ostream* os) { *os << c.name(); }

namespace {

class FusedKernelParity : public ::testing::TestWithParam<KernelParityCase> {};

TEST_P(FusedKernelParity, EveryStageMatchesTheReference) {
  if (!kernel_parity_runnable()) GTEST_SKIP() << "needs the CUDA kernels built in and a GPU";
  const auto& c = GetParam();
  for (const auto& r : kernel_parity(c, 1234)) {
    EXPECT_TRUE(r.finite) << c.name() << " " << r.stage << ": NaN left in the output (an element never written)";
    EXPECT_LT(r.relative_error, c.tolerance()) << c.name() << " " << r.stage;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, FusedKernelParity, ::testing::ValuesIn(kernel_parity_cases()),
                         [](const ::testing::TestParamInfo<KernelParityCase>& info) { return info.param.name(); });

}  // namespace
}  // namespace emotune
