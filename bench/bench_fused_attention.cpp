// The fused aspect attention vs six stock attention blocks (torch::nn::MultiheadAttention, one head, what
// the reference MASP code runs), at Qwen2-VL-7B sizes by default: D = 3584, T = 256 and 1024 visual tokens,
// 5 queries per aspect, batch 1/8/32 (issue 5). Reports time per call, the ratio stock/fused, the byte floor
// (V read once + aspect weights read once), the achieved bandwidth and its share of the device's peak.
// Both run in the same process on the same inputs; CUDA times are taken after a synchronize. The fused time
// includes u = Wkᵀ(Wq q + bq) from the current weights, as a stage-1 step computes it (the weights change every
// step), so it reads every weight the stock blocks read; "V passes" is the kernels' share of it.
//   build/emotune_bench_fused --device cuda --dtype bf16            (GPU machine)
//   build/emotune_bench_fused --dim 512 --tokens 64 --batches 1,8   (CPU, small)
// --backward times a stage-1 step's attention instead: forward plus backward to every aspect weight (V frozen).
#include <CLI/CLI.hpp>
#include <torch/cuda.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>

#include "fused_attention_fixture.h"

namespace {

double time_ms(const std::function<void()>& fn, int iterations, bool cuda) {
  fn();  // warm-up
  if (cuda) torch::cuda::synchronize();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) fn();
  if (cuda) torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iterations;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fused aspect attention vs six stock attention blocks"};
  int64_t dim = 3584, queries = 5, aspects = 6;
  std::vector<int64_t> tokens{256, 1024}, batches{1, 8, 32};
  std::string device = "cpu", dtype = "fp32";
  int iterations = 20;
  double peak_gbps = 3350;  // H100 SXM HBM3
  bool backward = false;
  app.add_option("--dim", dim)->capture_default_str();
  app.add_option("--queries", queries)->capture_default_str();
  app.add_option("--tokens", tokens)->delimiter(',')->capture_default_str();
  app.add_option("--batches", batches)->delimiter(',')->capture_default_str();
  app.add_option("--device", device)->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--dtype", dtype)->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  app.add_option("--iterations", iterations)->capture_default_str();
  app.add_option("--peak-gbps", peak_gbps, "device memory bandwidth for the share of the byte floor")->capture_default_str();
  app.add_flag("--backward", backward, "forward + backward to the aspect weights (a stage-1 step), not the forward alone");
  CLI11_PARSE(app, argc, argv);
  const bool cuda = device == "cuda";
  if (cuda && !torch::cuda::is_available()) {
    std::fprintf(stderr, "no CUDA device visible to LibTorch\n");
    return 2;
  }
  std::optional<torch::NoGradGuard> no_grad;
  if (!backward) no_grad.emplace();
  torch::manual_seed(0);
  const auto type = dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
  auto o = torch::TensorOptions().dtype(type).device(cuda ? torch::kCUDA : torch::kCPU);
  auto ws = emotune::bench::random_aspect_weights(aspects, queries, dim, o);
  if (backward)
    for (auto& w : ws)
      for (auto* p : {&w.query, &w.in_proj_weight, &w.in_proj_bias, &w.out_proj_weight, &w.out_proj_bias}) p->set_requires_grad(true);
  auto u = emotune::bench::fuse_all(ws).u.detach().requires_grad_(backward);  // the V passes' own input
  std::vector<torch::nn::MultiheadAttention> stock;
  for (int64_t a = 0; a < aspects; ++a) {
    torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(dim, 1));
    mha->to(o.device(), type);
    stock.push_back(mha);
  }
  std::printf("%s; device %s, dtype %s, D %lld, %lld aspects x %lld queries, fused kernels %s\n",
              backward ? "forward + backward" : "forward", device.c_str(), dtype.c_str(),
              static_cast<long long>(dim), static_cast<long long>(aspects), static_cast<long long>(queries),
              emotune::fused_kernels_available(torch::zeros({1}, o)) ? "on" : "off (LibTorch reference)");
  std::printf("| T | batch | stock 6x MHA (ms) | fused (ms) | of which V passes (ms) | stock/fused | byte floor (MB) | fused GB/s | share of %.0f GB/s |\n", peak_gbps);
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (auto t : tokens)
    for (auto b : batches) {
      auto visual = torch::randn({b, t, dim}, o);
      auto kv = visual.transpose(0, 1);  // MHA takes [L, N, E]
      // A constant upstream gradient (the loss is a scaled sum); backward() accumulates into the weights' .grad.
      auto finish = [&](const torch::Tensor& out) {
        if (backward) (out.to(torch::kFloat32) * 1e-3).sum().backward();
      };
      double stock_ms = time_ms([&] {
        for (int64_t a = 0; a < aspects; ++a) {
          auto q = ws[static_cast<size_t>(a)].query.unsqueeze(1).expand({queries, b, dim});
          finish(std::get<0>(stock[static_cast<size_t>(a)]->forward(q, kv, kv, {}, /*need_weights=*/false)));
        }
      }, iterations, cuda);
      double fused_ms = time_ms([&] { finish(emotune::fused_aspect_attention(emotune::bench::fuse_all(ws), visual)); }, iterations, cuda);
      double passes_ms = time_ms([&] { finish(emotune::aspect_context(u, visual)); }, iterations, cuda);
      const double floor = emotune::bench::byte_floor(b, t, dim, aspects, queries, static_cast<int64_t>(torch::elementSize(type)));
      const double gbps = floor / (fused_ms * 1e-3) / 1e9;
      std::printf("| %lld | %lld | %.3f | %.3f | %.3f | %.1fx | %.1f | %.0f | %.0f%% |\n", static_cast<long long>(t), static_cast<long long>(b),
                  stock_ms, fused_ms, passes_ms, stock_ms / fused_ms, floor / 1e6, gbps, 100.0 * gbps / peak_gbps);
    }
  return 0;
}
