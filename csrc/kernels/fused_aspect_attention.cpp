#include "kernels/fused_aspect_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "kernels/fused_aspect_attention_kernels.h"

#ifdef EMOTUNE_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace emotune {

FusedAspectWeights fuse_aspect_weights(const std::vector<const AspectAttentionWeights*>& aspects) {
  if (aspects.empty()) raise("internal: fuse_aspect_weights needs at least one aspect");
  const int64_t d = aspects.front()->query.size(1);
  FusedAspectWeights fused;
  std::vector<torch::Tensor> u;
  for (const auto* w : aspects) {
    auto wq = w->in_proj_weight.slice(0, 0, d), wk = w->in_proj_weight.slice(0, d, 2 * d);
    auto q = torch::addmm(w->in_proj_bias.slice(0, 0, d), w->query, wq.t());  // q' = Wq q + bq   [Q, D]
    u.push_back(torch::matmul(q, wk));                                         // u = Wkᵀ q'       [Q, D]
    fused.projections.push_back({w->in_proj_weight.slice(0, 2 * d, 3 * d), w->in_proj_bias.slice(0, 2 * d, 3 * d),
                                 w->out_proj_weight, w->out_proj_bias});
  }
  fused.u = torch::cat(u, 0);
  fused.queries = aspects.front()->query.size(0);
  return fused;
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

// The stream LibTorch's own kernels on this device are queued on now, so the fused kernels order with them
// under any stream a caller sets (c10::cuda::CUDAStreamGuard), not on the legacy default stream.
void* current_stream(const torch::Tensor& on) { return c10::cuda::getCurrentCUDAStream(on.device().index()).stream(); }

void check_launch(const char* what) {
  if (const char* e = cuda::last_launch_error()) raise("CUDA kernel ", what, " failed: ", e);
}

// Autograd: forward runs scores → softmax → context; backward returns du only (V is frozen).
class AspectContextFunction : public torch::autograd::Function<AspectContextFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u, const torch::Tensor& visual) {
    const int b = static_cast<int>(visual.size(0)), t = static_cast<int>(visual.size(1)), d = static_cast<int>(visual.size(2));
    const int aq = static_cast<int>(u.size(0));
    const c10::cuda::CUDAGuard on_device(visual.device());
    void* stream = current_stream(visual);
    auto v = visual.contiguous();
    auto uf = u.to(torch::kFloat32).contiguous();
    auto f32 = v.options().dtype(torch::kFloat32);
    const int splits = cuda::score_split(b, t, d).splits;
    auto scores = torch::empty({splits, b, aq, t}, f32);  // partial sums per slice of D; softmax adds them
    auto context_planes = torch::empty({cuda::context_split(b, t, d).splits, b, aq, d}, f32);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    cuda::launch_scores(v.data_ptr(), visual_type(v), uf.data_ptr<float>(), 0, scores.data_ptr<float>(), b, t, d, aq, scale, stream);
    check_launch("scores");
    cuda::launch_softmax_rows(scores.data_ptr<float>(), b * aq, t, splits, stream);
    check_launch("softmax");
    auto probs = scores[0];
    cuda::launch_context(v.data_ptr(), visual_type(v), probs.data_ptr<float>(), context_planes.data_ptr<float>(), b, t, d, aq, stream);
    check_launch("context");
    auto context = context_planes.size(0) == 1 ? context_planes[0] : context_planes.sum(0);
    ctx->save_for_backward({v, probs});
    ctx->saved_data["u_dtype"] = static_cast<int64_t>(u.scalar_type());
    return context;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto v = saved[0], probs = saved[1];
    const int b = static_cast<int>(v.size(0)), t = static_cast<int>(v.size(1)), d = static_cast<int>(v.size(2));
    const int aq = static_cast<int>(probs.size(1));
    const c10::cuda::CUDAGuard on_device(v.device());
    void* stream = current_stream(v);
    auto grad_c = grads[0].to(torch::kFloat32).contiguous();  // [B, AQ, D]
    const int splits = cuda::score_split(b, t, d).splits;
    auto grad_s = torch::empty({splits, b, aq, t}, probs.options());
    // dP[b,q,t] = Σ_d dC[b,q,d] V[b,t,d]: the scores pass with a per-image "u".
    cuda::launch_scores(v.data_ptr(), visual_type(v), grad_c.data_ptr<float>(), static_cast<int64_t>(aq) * d,
                        grad_s.data_ptr<float>(), b, t, d, aq, 1.0f, stream);
    check_launch("scores (backward)");
    cuda::launch_softmax_backward(probs.data_ptr<float>(), grad_s.data_ptr<float>(), b * aq, t, splits,
                                  1.0f / std::sqrt(static_cast<float>(d)), stream);
    check_launch("softmax (backward)");
    // du = Σ_b dS_bᵀ V_b: per image by the context pass, then summed (deterministic, no atomics).
    auto grad_u_planes = torch::empty({cuda::context_split(b, t, d).splits, b, aq, d}, probs.options());
    cuda::launch_context(v.data_ptr(), visual_type(v), grad_s[0].data_ptr<float>(), grad_u_planes.data_ptr<float>(), b, t, d, aq, stream);
    check_launch("context (backward)");
    auto grad_u = grad_u_planes.flatten(0, 1).sum(0);
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

torch::Tensor project_aspect_context(const FusedAspectWeights& w, const torch::Tensor& context) {
  const int64_t b = context.size(0), d = context.size(2), q = w.queries;
  std::vector<torch::Tensor> z;
  for (size_t a = 0; a < w.projections.size(); ++a) {
    const auto& p = w.projections[a];
    const int64_t first = static_cast<int64_t>(a) * q;
    auto c = context.slice(1, first, first + q).reshape({b * q, d}).to(p.wv.scalar_type());
    auto value = torch::addmm(p.bv, c, p.wv.t());                       // Wv c + bv (Σa = 1 moves bv out of the sum)
    z.push_back(torch::addmm(p.bo, value, p.wo.t()).view({b, q, d}));  // z = Wo (Wv c + bv) + bo
  }
  return torch::cat(z, 1);
}

torch::Tensor fused_aspect_attention(const FusedAspectWeights& w, const torch::Tensor& visual) {
  return project_aspect_context(w, aspect_context(w.u, visual));
}

}  // namespace emotune
