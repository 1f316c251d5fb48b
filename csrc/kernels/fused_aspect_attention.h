// Fused aspect attention (issue 5): all aspects' query tokens attend over V_global at once, without forming
// keys or values. The algebra (MASP Eq. 1 rewritten; derivation atop fused_aspect_attention.cu):
//   q' = Wq q + bq,  u = Wkᵀ q'  (per query token, image-independent),
//   s = V u / √D,  a = softmax(s),  c = aᵀ V,  z = Wo (Wv c + bv) + bo.
// The key bias bk only shifts every score of a query by the same constant, which softmax cancels; Σa = 1
// moves the value bias out of the sum. The result equals aspect_attention_reference() (the stock
// nn.MultiheadAttention computation) to rounding, for values and for gradients (tests/kernels).
//
// aspect_context() — the part that touches V — runs on the CUDA kernels when V is on a GPU and emotune was
// built with them (EMOTUNE_WITH_CUDA), as an autograd function whose backward reaches u only (V is frozen);
// otherwise on the LibTorch reference below, which autograd differentiates. Everything else is small
// LibTorch matrix products on whichever device the tensors live.
#pragma once
#include <torch/types.h>

#include <vector>

#include "kernels/aspect_attention.h"

namespace emotune {

// What the fused call needs of the aspects: u for the passes over V, and views (not copies) of each aspect's
// value and output projections; differentiable w.r.t. every input weight.
struct FusedAspectWeights {
  struct Projection {
    torch::Tensor wv, bv;  // [D, D], [D]
    torch::Tensor wo, bo;  // [D, D], [D]
  };
  torch::Tensor u;  // [A·Q, D]  Wkᵀ q' / nothing else: the 1/√D is applied in aspect_context
  std::vector<Projection> projections;  // one per aspect
  int64_t queries = 0;
};
FusedAspectWeights fuse_aspect_weights(const std::vector<const AspectAttentionWeights*>& aspects);

// c = softmax(V uᵀ / √D) V: [B, A·Q, D] in fp32 (fp64 for fp64 u), from u [A·Q, D] and V [B, T, D] (fp32 or bf16).
torch::Tensor aspect_context(const torch::Tensor& u, const torch::Tensor& visual);
torch::Tensor aspect_context_reference(const torch::Tensor& u, const torch::Tensor& visual);
// Whether aspect_context() would use the CUDA kernels for this tensor.
bool fused_kernels_available(const torch::Tensor& visual);

// z = Wo (Wv c + bv) + bo per aspect from the context c [B, A·Q, D]: each weight read once, in its own dtype.
torch::Tensor project_aspect_context(const FusedAspectWeights& weights, const torch::Tensor& context);
// [B, A·Q, D]: z for every query token of every aspect, aspect-major (the order of V_fused, Eq. 3).
torch::Tensor fused_aspect_attention(const FusedAspectWeights& weights, const torch::Tensor& visual);

}  // namespace emotune
