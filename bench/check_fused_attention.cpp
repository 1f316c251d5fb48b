// Parity check of the fused aspect attention (llm.c style): fresh random inputs each run, the kernel's
// outputs poisoned with NaN before it runs (an element it forgets to write shows), relative error against
// the LibTorch reference reported, and a non-zero exit past the tolerance (fp32 < 1e-5, bf16 < 1e-2).
// Checks: the fused CPU reference against six stock blocks (always); the CUDA kernels — scores, softmax,
// context and the backward (du) — against the reference, when emotune is built with CUDA and a GPU is seen.
//   build/emotune_check_fused [--dim 3584 --tokens 1024 --batch 8]
#include <CLI/CLI.hpp>
#include <torch/cuda.h>

#include <cstdio>

#include "fused_attention_fixture.h"
#include "kernels/fused_aspect_attention_kernels.h"

namespace {

int failures = 0;

void report(const char* what, const torch::Tensor& got, const torch::Tensor& want, double tolerance) {
  auto g = got.to(torch::kCPU, torch::kFloat64), w = want.to(torch::kCPU, torch::kFloat64);
  const bool finite = torch::isfinite(g).all().item<bool>();
  const double rel = finite ? ((g - w).abs().max() / w.abs().max().clamp_min(1e-30)).item<double>() : INFINITY;
  const bool ok = finite && rel < tolerance;
  failures += !ok;
  std::printf("%-44s max relative error %.3e (tolerance %.0e)%s %s\n", what, rel, tolerance, finite ? "" : " [unwritten/NaN elements]",
              ok ? "OK" : "FAIL");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parity of the fused aspect attention"};
  int64_t dim = 256, tokens = 300, batch = 3, queries = 5, aspects = 6;
  uint64_t seed = static_cast<uint64_t>(std::time(nullptr));
  app.add_option("--dim", dim)->capture_default_str();
  app.add_option("--tokens", tokens)->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--queries", queries)->capture_default_str();
  app.add_option("--seed", seed, "default: the clock (fresh inputs every run)");
  CLI11_PARSE(app, argc, argv);
  torch::manual_seed(seed);
  std::printf("seed %llu, D %lld, T %lld, batch %lld, %lld x %lld queries\n", static_cast<unsigned long long>(seed),
              static_cast<long long>(dim), static_cast<long long>(tokens), static_cast<long long>(batch),
              static_cast<long long>(aspects), static_cast<long long>(queries));
  auto ws = emotune::bench::random_aspect_weights(aspects, queries, dim, torch::TensorOptions().dtype(torch::kFloat32));
  auto visual = torch::randn({batch, tokens, dim});
  std::vector<torch::Tensor> stock;
  for (const auto& w : ws) stock.push_back(emotune::aspect_attention_reference(w, visual));
  auto fused = emotune::bench::fuse_all(ws);
  report("CPU: fused algebra vs six stock blocks", emotune::fused_aspect_attention(fused, visual), torch::cat(stock, 1), 1e-5);
#ifdef EMOTUNE_WITH_CUDA
  if (!torch::cuda::is_available()) {
    std::printf("no CUDA device: kernel checks skipped\n");
    return failures ? 1 : 0;
  }
  namespace k = emotune::cuda;
  const int b = static_cast<int>(batch), t = static_cast<int>(tokens), d = static_cast<int>(dim), aq = static_cast<int>(aspects * queries);
  auto u = fused.u.detach();
  std::printf("scores split D into %d slice(s), context split T into %d\n", k::score_split(b, t, d).splits, k::context_split(b, t, d).splits);
  auto scores_ref = torch::matmul(visual, u.t()).transpose(1, 2) / std::sqrt(static_cast<double>(dim));
  auto probs_ref = torch::softmax(scores_ref, -1);
  auto context_ref = torch::matmul(probs_ref, visual);
  for (auto type : {torch::kFloat32, torch::kBFloat16}) {
    const bool bf16 = type == torch::kBFloat16;
    const double tol = bf16 ? 1e-2 : 1e-5;
    auto v = visual.to(torch::kCUDA, type).contiguous();
    auto uc = u.to(torch::kCUDA).contiguous();
    auto vt = bf16 ? k::VisualType::bf16 : k::VisualType::f32;
    auto nan = [&](std::vector<int64_t> shape) { return torch::full(shape, NAN, torch::TensorOptions().device(torch::kCUDA)); };
    // The reference from the same (rounded) V, so bf16 measures the kernel, not the rounding of V.
    auto vref = v.to(torch::kCPU, torch::kFloat32);
    auto s_ref = torch::matmul(vref, u.t()).transpose(1, 2) / std::sqrt(static_cast<double>(dim));
    auto p_ref = torch::softmax(s_ref, -1);
    const int splits = k::score_split(b, t, d).splits;
    auto s = nan({splits, batch, aq, tokens});
    k::launch_scores(v.data_ptr(), vt, uc.data_ptr<float>(), 0, s.data_ptr<float>(), b, t, d, aq, 1.0f / std::sqrt(static_cast<float>(d)), nullptr);
    report(bf16 ? "CUDA bf16: scores (split planes summed)" : "CUDA fp32: scores (split planes summed)", s.sum(0), s_ref, tol);
    k::launch_softmax_rows(s.data_ptr<float>(), b * aq, t, splits, nullptr);
    report(bf16 ? "CUDA bf16: softmax" : "CUDA fp32: softmax", s[0], p_ref, tol);
    auto c = nan({k::context_split(b, t, d).splits, batch, aq, dim});
    k::launch_context(v.data_ptr(), vt, s[0].data_ptr<float>(), c.data_ptr<float>(), b, t, d, aq, nullptr);
    report(bf16 ? "CUDA bf16: context (split planes summed)" : "CUDA fp32: context (split planes summed)", c.sum(0), torch::matmul(p_ref, vref), tol);
    // Backward: du through the autograd function against autograd on the reference.
    auto probe = torch::randn({batch, aq, dim});
    auto ur = u.clone().requires_grad_(true);
    (emotune::aspect_context_reference(ur, vref) * probe).sum().backward();
    auto ug = uc.clone().requires_grad_(true);
    (emotune::aspect_context(ug, v) * probe.to(torch::kCUDA)).sum().backward();
    report(bf16 ? "CUDA bf16: backward du" : "CUDA fp32: backward du", ug.grad(), ur.grad(), tol);
  }
  (void)scores_ref, (void)context_ref;
#else
  std::printf("CUDA kernels not built in (CPU LibTorch): kernel checks skipped\n");
#endif
  return failures ? 1 : 0;
}
