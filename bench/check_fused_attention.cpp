// Parity check of the fused aspect attention (llm.c style): fresh random inputs each run, the kernel's
// outputs poisoned with NaN before it runs (an element it forgets to write shows), relative error against
// the LibTorch reference reported, and a non-zero exit past the tolerance (fp32 < 1e-5, bf16 < 1e-2).
// Checks: the fused CPU reference against six stock blocks (always); the CUDA kernels — scores, softmax,
// context and the backward (du) — against the reference, when emotune is built with CUDA and a GPU is seen.
//   build/emotune_check_fused [--dim 3584 --tokens 1024 --batch 8] [--cases]
#include <CLI/CLI.hpp>
#include <torch/cuda.h>

#include <cstdio>

#include "fused_attention_fixture.h"
#include "kernels/fused_aspect_attention_parity.h"

namespace {

int failures = 0;

void report(const char* what, double rel, bool finite, double tolerance) {
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
  bool all_cases = false;
  app.add_flag("--cases", all_cases, "the CUDA stages on every shape of kernel_parity_cases() (the ctest table)");
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
  auto got = emotune::fused_aspect_attention(fused, visual).to(torch::kFloat64), want = torch::cat(stock, 1).to(torch::kFloat64);
  report("CPU: fused algebra vs six stock blocks", ((got - want).abs().max() / want.abs().max()).item<double>(),
         torch::isfinite(got).all().item<bool>(), 1e-5);
  if (!emotune::kernel_parity_runnable()) {
    std::printf("no CUDA kernels built in, or no CUDA device: kernel checks skipped\n");
    return failures ? 1 : 0;
  }
  std::vector<emotune::KernelParityCase> cases;
  if (all_cases) cases = emotune::kernel_parity_cases();
  else
    for (auto type : {torch::kFloat32, torch::kBFloat16}) cases.push_back({batch, tokens, dim, aspects * queries, type});
  for (const auto& c : cases)
    for (const auto& r : emotune::kernel_parity(c, seed))
      report((c.name() + ": " + r.stage).c_str(), r.relative_error, r.finite, c.tolerance());
  return failures ? 1 : 0;
}
