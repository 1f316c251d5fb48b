// The fused aspect-attention kernels against their LibTorch reference, stage by stage (llm.c style: fresh
// random inputs, outputs poisoned with NaN before each kernel runs so an unwritten element shows, relative
// error against the reference). One declarative table of shapes, test-backend-ops style, is what both the
// ctest cases (tests/kernels/test_fused_kernels_parity.cpp, one case per shape and type) and the command-line
// check (bench/check_fused_attention.cpp --cases) run.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct KernelParityCase {
  int64_t batch, tokens, dim, queries;  // queries: A·Q of one call (≤ cuda::kMaxQueries)
  torch::ScalarType visual_type;        // kFloat32 or kBFloat16
  std::string name() const;             // "B3_T300_D256_AQ30_bf16"
  double tolerance() const { return visual_type == torch::kBFloat16 ? 1e-2 : 1e-5; }
};

struct KernelParityResult {
  std::string stage;  // scores, softmax, context, backward du
  double relative_error = 0;
  bool finite = true;  // false: NaN left in an output (an element the kernel never wrote)
  bool ok(double tolerance) const { return finite && relative_error < tolerance; }
};

// The shapes every backend runs: tiny, unaligned (T, D not multiples of any tile), several D splits, the
// reference code's 5 queries × 6 aspects, and Qwen2-VL-7B's hidden size at its visual-token counts.
std::vector<KernelParityCase> kernel_parity_cases();

// Whether the fused kernels are built in and a CUDA device is seen (else kernel_parity raises).
bool kernel_parity_runnable();

// Runs the four stages of one case on the current CUDA device, on the current stream.
std::vector<KernelParityResult> kernel_parity(const KernelParityCase& c, uint64_t seed);

}  // namespace emotune
