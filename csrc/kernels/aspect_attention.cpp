#include "kernels/aspect_attention.h"

#include <torch/torch.h>

#include <cmath>

namespace emotune {

torch::Tensor aspect_attention_reference(const AspectAttentionWeights& w, const torch::Tensor& visual) {
  namespace F = torch::nn::functional;
  const int64_t d = w.query.size(1);
  auto wq = w.in_proj_weight.slice(0, 0, d), wk = w.in_proj_weight.slice(0, d, 2 * d),
       wv = w.in_proj_weight.slice(0, 2 * d, 3 * d);
  auto bq = w.in_proj_bias.slice(0, 0, d), bk = w.in_proj_bias.slice(0, d, 2 * d),
       bv = w.in_proj_bias.slice(0, 2 * d, 3 * d);
  auto q = F::linear(w.query, wq, bq);                       // [Q, D]
  auto k = F::linear(visual, wk, bk);                        // [B, T, D]: K_i = W_K V_global (Eq. 1)
  auto v = F::linear(visual, wv, bv);                        // [B, T, D]: V_i = W_V V_global
  auto scores = torch::matmul(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(d));  // [B, Q, T]
  auto z = torch::matmul(torch::softmax(scores, -1), v);    // σ(q K^T / √d) V_i
  return F::linear(z, w.out_proj_weight, w.out_proj_bias);  // out projection of the attention block
}

}  // namespace emotune
