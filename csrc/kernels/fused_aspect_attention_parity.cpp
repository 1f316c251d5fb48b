#include "kernels/fused_aspect_attention_parity.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "kernels/fused_aspect_attention.h"
#include "kernels/fused_aspect_attention_kernels.h"

#ifdef EMOTUNE_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>
#endif

namespace emotune {

std::string KernelParityCase::name() const {
  return concat("B", batch, "_T", tokens, "_D", dim, "_AQ", queries, visual_type == torch::kBFloat16 ? "_bf16" : "_f32");
}

std::vector<KernelParityCase> kernel_parity_cases() {
  std::vector<KernelParityCase> cases;
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 1, 8, 1},        // one token, one query
      {2, 17, 33, 6},      // nothing aligned to a tile
      {3, 300, 256, 30},   // the reference code's 5 queries × 6 aspects
      {1, 64, 4096, 6},    // one image, wide D: D split across blocks
      {8, 1024, 3584, 6},  // Qwen2-VL-7B's hidden size, 448×448 visual tokens, a training batch
      {2, 1296, 3584, 64}, // the most queries one call takes
  };
  for (const auto& s : shapes)
    for (auto type : {torch::kFloat32, torch::kBFloat16}) cases.push_back({s[0], s[1], s[2], s[3], type});
  return cases;
}

#ifdef EMOTUNE_WITH_CUDA

bool kernel_parity_runnable() { return torch::cuda::is_available(); }

namespace {

KernelParityResult compare(const std::string& stage, const torch::Tensor& got, const torch::Tensor& want) {
  auto g = got.to(torch::kCPU, torch::kFloat64), w = want.to(torch::kCPU, torch::kFloat64);
  KernelParityResult r{stage};
  r.finite = torch::isfinite(g).all().item<bool>();
  r.relative_error = r.finite ? ((g - w).abs().max() / w.abs().max().clamp_min(1e-30)).item<double>() : INFINITY;
  return r;
}

}  // namespace

std::vector<KernelParityResult> kernel_parity(const KernelParityCase& c, uint64_t seed) {
  if (!kernel_parity_runnable()) raise("the fused kernels' parity needs a CUDA device");
  namespace k = cuda;
  torch::manual_seed(seed);
  const int b = static_cast<int>(c.batch), t = static_cast<int>(c.tokens), d = static_cast<int>(c.dim), aq = static_cast<int>(c.queries);
  auto visual = torch::randn({c.batch, c.tokens, c.dim});
  auto u = torch::randn({c.queries, c.dim});
  void* stream = c10::cuda::getCurrentCUDAStream().stream();
  const bool bf16 = c.visual_type == torch::kBFloat16;
  auto v = visual.to(torch::kCUDA, c.visual_type).contiguous();
  auto uc = u.to(torch::kCUDA).contiguous();
  auto vt = bf16 ? k::VisualType::bf16 : k::VisualType::f32;
  auto nan = [](std::vector<int64_t> shape) { return torch::full(shape, NAN, torch::TensorOptions().device(torch::kCUDA)); };
  // The reference from the same (rounded) V, so bf16 measures the kernel, not the rounding of V.
  auto vref = v.to(torch::kCPU, torch::kFloat32);
  auto s_ref = torch::matmul(vref, u.t()).transpose(1, 2) / std::sqrt(static_cast<double>(d));
  auto p_ref = torch::softmax(s_ref, -1);
  std::vector<KernelParityResult> results;
  const int splits = k::score_split(b, t, d).splits;
  auto s = nan({splits, c.batch, c.queries, c.tokens});
  k::launch_scores(v.data_ptr(), vt, uc.data_ptr<float>(), 0, s.data_ptr<float>(), b, t, d, aq, 1.0f / std::sqrt(static_cast<float>(d)), stream);
  results.push_back(compare("scores (split planes summed)", s.sum(0), s_ref));
  k::launch_softmax_rows(s.data_ptr<float>(), b * aq, t, splits, stream);
  results.push_back(compare("softmax", s[0], p_ref));
  auto ctx = nan({k::context_split(b, t, d).splits, c.batch, c.queries, c.dim});
  k::launch_context(v.data_ptr(), vt, s[0].data_ptr<float>(), ctx.data_ptr<float>(), b, t, d, aq, stream);
  results.push_back(compare("context (split planes summed)", ctx.sum(0), torch::matmul(p_ref, vref)));
  if (const char* e = k::last_launch_error()) raise("CUDA kernel launch failed: ", e);
  // Backward: du through the autograd function against autograd on the reference.
  auto probe = torch::randn({c.batch, c.queries, c.dim});
  auto ur = u.clone().requires_grad_(true);
  (aspect_context_reference(ur, vref) * probe).sum().backward();
  auto ug = uc.clone().requires_grad_(true);
  (aspect_context(ug, v) * probe.to(torch::kCUDA)).sum().backward();
  results.push_back(compare("backward du", ug.grad(), ur.grad()));
  return results;
}

#else

bool kernel_parity_runnable() { return false; }

std::vector<KernelParityResult> kernel_parity(const KernelParityCase&, uint64_t) {
  raise("the fused kernels are not built in (CPU LibTorch): no kernel parity to check");
}

#endif

}  // namespace emotune
