// The fused aspect-attention algebra against the stock attention block: values, gradients of every
// parameter, finite differences, bf16 inputs, and the aspect modules that use it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "kernels/aspect_attention.h"
#include "kernels/fused_aspect_attention.h"
#include "masp/aspect_modules.h"
#include "test_support.h"

namespace emotune {
namespace {

std::vector<AspectAttentionWeights> random_aspects(int64_t aspects, int64_t q, int64_t d, torch::ScalarType dtype) {
  auto o = torch::TensorOptions().dtype(dtype);
  std::vector<AspectAttentionWeights> out;
  for (int64_t a = 0; a < aspects; ++a)
    out.push_back({torch::randn({q, d}, o), torch::randn({3 * d, d}, o) * 0.4, torch::randn({3 * d}, o) * 0.3,
                   torch::randn({d, d}, o) * 0.4, torch::randn({d}, o) * 0.3});  // biases non-zero: bk must cancel
  return out;
}

std::vector<torch::Tensor*> parameters_of(std::vector<AspectAttentionWeights>& ws) {
  std::vector<torch::Tensor*> ps;
  for (auto& w : ws)
    for (auto* p : {&w.query, &w.in_proj_weight, &w.in_proj_bias, &w.out_proj_weight, &w.out_proj_bias}) ps.push_back(p);
  return ps;
}

torch::Tensor stock(const std::vector<AspectAttentionWeights>& ws, const torch::Tensor& visual) {
  std::vector<torch::Tensor> parts;
  for (const auto& w : ws) parts.push_back(aspect_attention_reference(w, visual));
  return torch::cat(parts, 1);
}

torch::Tensor fused(const std::vector<AspectAttentionWeights>& ws, const torch::Tensor& visual) {
  std::vector<const AspectAttentionWeights*> ptrs;
  for (const auto& w : ws) ptrs.push_back(&w);
  return fused_aspect_attention(fuse_aspect_weights(ptrs), visual);
}

TEST(FusedAspectAttention, EqualsTheStockBlockInValueAndGradient) {
  torch::manual_seed(5);
  auto ws = random_aspects(3, 2, 32, torch::kFloat32);
  auto params = parameters_of(ws);
  for (auto* p : params) p->set_requires_grad(true);
  auto visual = torch::randn({4, 19, 32});
  auto probe = torch::randn({4, 6, 32});
  auto a = stock(ws, visual), b = fused(ws, visual);
  EXPECT_LT(((a - b).abs().max() / a.abs().max()).item<double>(), 1e-5);
  auto ga = torch::autograd::grad({(a * probe).sum()}, [&] { std::vector<torch::Tensor> v; for (auto* p : params) v.push_back(*p); return v; }());
  auto gb = torch::autograd::grad({(b * probe).sum()}, [&] { std::vector<torch::Tensor> v; for (auto* p : params) v.push_back(*p); return v; }(),
                                  {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < params.size(); ++i) {
    // bk gets no gradient through the fused path: it provably does not change the output (softmax shift).
    if (i % 5 == 2) {
      auto d = ga[i].size(0) / 3;
      EXPECT_LT(ga[i].slice(0, d, 2 * d).abs().max().item<double>(), 1e-5) << "the stock gradient of bk must vanish too";
      EXPECT_LT((ga[i].slice(0, 0, d) - gb[i].slice(0, 0, d)).abs().max().item<double>(), 1e-4) << "bq";
      EXPECT_LT((ga[i].slice(0, 2 * d, 3 * d) - gb[i].slice(0, 2 * d, 3 * d)).abs().max().item<double>(), 1e-4) << "bv";
      continue;
    }
    EXPECT_LT(((ga[i] - gb[i]).abs().max() / ga[i].abs().max().clamp_min(1e-6)).item<double>(), 1e-4) << "parameter " << i;
  }
}

TEST(FusedAspectAttention, GradientsMatchFiniteDifferences) {
  torch::manual_seed(6);
  auto ws = random_aspects(2, 2, 6, torch::kFloat64);
  auto params = parameters_of(ws);
  for (auto* p : params) p->set_requires_grad(true);
  auto visual = torch::randn({2, 5, 6}, torch::kFloat64);
  auto probe = torch::randn({2, 4, 6}, torch::kFloat64);
  auto objective = [&] { return (fused(ws, visual) * probe).sum(); };
  objective().backward();
  testing::expect_gradients_match_finite_differences(params, objective);
}

TEST(FusedAspectAttention, Bf16VisualTokensStayWithinOnePercent) {
  torch::manual_seed(7);
  auto ws = random_aspects(6, 1, 64, torch::kFloat32);
  auto visual = torch::randn({2, 40, 64});
  auto exact = stock(ws, visual);
  auto context = aspect_context(fuse_aspect_weights({&ws[0], &ws[1], &ws[2], &ws[3], &ws[4], &ws[5]}).u, visual.to(torch::kBFloat16));
  EXPECT_EQ(context.scalar_type(), torch::kFloat32) << "fp32 accumulation";
  auto approx = fused(ws, visual.to(torch::kBFloat16).to(torch::kFloat32));
  EXPECT_LT(((exact - approx).abs().max() / exact.abs().max()).item<double>(), 1e-2);
}

TEST(FusedAspectAttention, AspectModulesUseItAndMatchTheStockBlocks) {
  AspectModules m(AspectModulesOptions{{"scene", "object", "brightness"}, 16, 2, 3});
  auto named = m->named_tensors();
  std::vector<AspectAttentionWeights> ws;
  for (const auto& a : m->aspects())
    ws.push_back({named.at("aspect." + a + ".query"), named.at("aspect." + a + ".in_proj_weight"), named.at("aspect." + a + ".in_proj_bias"),
                  named.at("aspect." + a + ".out_proj.weight"), named.at("aspect." + a + ".out_proj.bias")});
  auto visual = torch::randn({3, 9, 16});
  auto all = m->forward_all(visual);
  EXPECT_TRUE(torch::allclose(all, stock(ws, visual), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(m->forward(1, visual), aspect_attention_reference(ws[1], visual), 1e-5, 1e-6));
  EXPECT_FALSE(fused_kernels_available(visual)) << "CPU tensors take the LibTorch reference";
}

}  // namespace
}  // namespace emotune
