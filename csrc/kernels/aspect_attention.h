// Aspect cross-attention (MASP Eq. 1): learnable query tokens attend over the frozen visual tokens V_global
// through a single-head attention block parameterised exactly like PyTorch's nn.MultiheadAttention (packed
// in_proj_weight/in_proj_bias for Q, K, V and an out_proj Linear, all with bias), so published MASP
// checkpoints map one to one.
//
// This is the stock computation from plain LibTorch ops, the reference every faster implementation (the
// fused CUDA kernel of issue 5) is checked against. Autograd handles the backward pass.
#pragma once
#include <torch/types.h>

namespace emotune {

struct AspectAttentionWeights {
  torch::Tensor query;            // [Q, D]
  torch::Tensor in_proj_weight;   // [3D, D]
  torch::Tensor in_proj_bias;     // [3D]
  torch::Tensor out_proj_weight;  // [D, D]
  torch::Tensor out_proj_bias;    // [D]
};

// visual [B, T, D] → aspect tokens [B, Q, D]. Eq. 1: z = softmax(q' K^T / sqrt(d)) V_i, then out_proj.
torch::Tensor aspect_attention_reference(const AspectAttentionWeights& w, const torch::Tensor& visual);

}  // namespace emotune
