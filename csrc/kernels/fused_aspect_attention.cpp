#include "kernels/fused_aspect_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "kernels/fused_aspect_attention_kernels.h"

namespace emotune {

FusedAspectWeights fuse_aspect_weights(const std::vector<const AspectAttentionWeights*>& aspects) {
  if (aspects.empty()) raise("internal: fuse_aspect_weights needs at least one aspect");
  const int64_t d = aspects.front()->query.size(1);
  std::vector<torch::Tensor> u, wv, bv, wo, bo;
  for (const auto* w : aspects) {
    auto wq = w->in_proj_weight.slice(0, 0, d), wk = w->in_proj_weight.slice(0, d, 2 * d);
    auto q = torch::addmm(w->in_proj_bias.slice(0, 0, d), w->query, wq.t());  // q' = Wq q + bq   [Q, D]
    u.push_back(torch::matmul(q, wk));                                         // u = Wkᵀ q'       [Q, D]
    wv.push_back(w->in_proj_weight.slice(0, 2 * d, 3 * d));
    bv.push_back(w->in_proj_bias.slice(0, 2 * d, 3 * d));
    wo.push_back(w->out_proj_weight);
    bo.push_back(w->out_proj_bias);
  }
  return {torch::cat(u, 0), torch::stack(wv), torch::stack(bv), torch::stack(wo), torch::stack(bo),
          static_cast<int64_t>(aspects.size()), aspects.front()->query.size(0)};
}

torch::Tensor aspect_context_reference(const torch::Tensor& u, const torch::Tensor& visual) {
  // fp32 accumulation at least (bf16 V is widened); double stays double (finite-difference checks).
  const auto type = torch::promote_types(u.scalar_type(), torch::kFloat32);
  auto v = visual.to(type);
  auto scores = torch::matmul(v, u.to(type).t()).transpose(1, 2) / std::sqrt(static_cast<double>(u.size(1)));  // [B, AQ, T]
  return torch::matmul(torch::softmax(scores, -1), v);  // [B, AQ, D]
}

#ifdef EMOTUNE_WITH_CUDA
namespace {

cuda::VisualType visual_type(const torch::Tensor& v) {
  return v.scalar_type() == torch::kBFloat16 ? cuda::VisualType::bf16 : cuda::VisualType::f32;
}

void check_launch(const char* what) {
  if (const char* e = cuda::last_launch_error()) raise("CUDA kernel ", what, " failed: ", e);
}

// Autograd: forward runs scores → softmax → context; backward returns du only (V is frozen).
class AspectContextFunction : public torch::autograd::Function<AspectContextFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u, const torch::Tensor& visual) {
    const int b = static_cast<int>(visual.size(0)), t = static_cast<int>(visual.size(1)), d = static_cast<int>(visual.size(2));
    const int aq = static_cast<int>(u.size(0));
    auto v = visual.contiguous();
    auto uf = u.to(torch::kFloat32).contiguous();
    auto f32 = v.options().dtype(torch::kFloat32);
    auto probs = torch::empty({b, aq, t}, f32);
    auto context = torch::empty({b, aq, d}, f32);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    cuda::launch_scores(v.data_ptr(), visual_type(v), uf.data_ptr<float>(), 0, probs.data_ptr<float>(), b, t, d, aq, scale, nullptr);
    check_launch("scores");
    cuda::launch_softmax_rows(probs.data_ptr<float>(), b * aq, t, nullptr);
    check_launch("softmax");
    cuda::launch_context(v.data_ptr(), visual_type(v), probs.data_ptr<float>(), context.data_ptr<float>(), b, t, d, aq, false, nullptr);
    check_launch("context");
    ctx->save_for_backward({v, probs});
    ctx->saved_data["u_dtype"] = static_cast<int64_t>(u.scalar_type());
    return context;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto v = saved[0], probs = saved[1];
    const int b = static_cast<int>(v.size(0)), t = static_cast<int>(v.size(1)), d = static_cast<int>(v.size(2));
    const int aq = static_cast<int>(probs.size(1));
    auto grad_c = grads[0].to(torch::kFloat32).contiguous();  // [B, AQ, D]
    auto grad_s = torch::empty_like(probs);
    // dP[b,q,t] = Σ_d dC[b,q,d] V[b,t,d]: the scores pass with a per-image "u".
    cuda::launch_scores(v.data_ptr(), visual_type(v), grad_c.data_ptr<float>(), static_cast<int64_t>(aq) * d,
                        grad_s.data_ptr<float>(), b, t, d, aq, 1.0f, nullptr);
    check_launch("scores (backward)");
    cuda::launch_softmax_backward(probs.data_ptr<float>(), grad_s.data_ptr<float>(), b * aq, t, 1.0f / std::sqrt(static_cast<float>(d)), nullptr);
    check_launch("softmax (backward)");
    auto grad_u = torch::empty({aq, d}, probs.options());
    cuda::launch_context(v.data_ptr(), visual_type(v), grad_s.data_ptr<float>(), grad_u.data_ptr<float>(), b, t, d, aq, true, nullptr);
    check_launch("context (backward)");
    return {grad_u.to(static_cast<torch::ScalarType>(ctx->saved_data["u_dtype"].toInt())), torch::Tensor()};
  }
};

}  // namespace
#endif

bool fused_kernels_available(const torch::Tensor& visual) {
#ifdef EMOTUNE_WITH_CUDA
  return visual.is_cuda() && (visual.scalar_type() == torch::kFloat32 || visual.scalar_type() == torch::kBFloat16);
#else
  (void)visual;
  return false;
#endif
}

torch::Tensor aspect_context(const torch::Tensor& u, const torch::Tensor& visual) {
#ifdef EMOTUNE_WITH_CUDA
  if (fused_kernels_available(visual) && u.size(0) <= cuda::kMaxQueries) {
    if (visual.requires_grad()) raise("internal: the fused aspect attention treats V_global as frozen (no gradient to it)");
    return AspectContextFunction::apply(u, visual);
  }
#endif
  return aspect_context_reference(u, visual);
}

torch::Tensor fused_aspect_attention(const FusedAspectWeights& w, const torch::Tensor& visual) {
  const int64_t b = visual.size(0), d = visual.size(2);
  auto c = aspect_context(w.u, visual).to(w.wv.scalar_type());         // [B, A·Q, D]
  auto per_aspect = c.view({b, w.aspects, w.queries, d});
  // z = Wo (Wv c + bv) + bo per aspect: two small batched products (Σa = 1 moves bv out of the sum).
  auto value = torch::einsum("baqd,aed->baqe", {per_aspect, w.wv}) + w.bv.unsqueeze(1);
  auto z = torch::einsum("baqd,aed->baqe", {value, w.wo}) + w.bo.unsqueeze(1);
  return z.reshape({b, w.aspects * w.queries, d});
}

}  // namespace emotune
