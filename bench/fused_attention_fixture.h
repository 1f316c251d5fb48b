// Shared by the fused aspect-attention benchmark and parity check: random weights of six aspects with Q
// query tokens each, and the stock computation (six attention blocks) they are compared against.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "kernels/aspect_attention.h"
#include "kernels/fused_aspect_attention.h"

namespace emotune::bench {

inline std::vector<AspectAttentionWeights> random_aspect_weights(int64_t aspects, int64_t queries, int64_t dim,
                                                                 const torch::TensorOptions& o) {
  std::vector<AspectAttentionWeights> ws;
  const double s = 1.0 / std::sqrt(static_cast<double>(dim));
  for (int64_t a = 0; a < aspects; ++a)
    ws.push_back({torch::randn({queries, dim}, o), torch::randn({3 * dim, dim}, o) * s, torch::randn({3 * dim}, o) * 0.1,
                  torch::randn({dim, dim}, o) * s, torch::randn({dim}, o) * 0.1});
  return ws;
}

inline FusedAspectWeights fuse_all(const std::vector<AspectAttentionWeights>& ws) {
  std::vector<const AspectAttentionWeights*> ptrs;
  for (const auto& w : ws) ptrs.push_back(&w);
  return fuse_aspect_weights(ptrs);
}

// Bytes the fused op must move at least: V read once, every aspect weight read once.
inline double byte_floor(int64_t batch, int64_t tokens, int64_t dim, int64_t aspects, int64_t queries, int64_t element_bytes) {
  const double v = static_cast<double>(batch * tokens * dim), w = static_cast<double>(aspects * (4 * dim * dim + 4 * dim + queries * dim));
  return (v + w) * static_cast<double>(element_bytes);
}

}  // namespace emotune::bench
