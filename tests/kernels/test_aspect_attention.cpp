#include <gtest/gtest.h>
#include <torch/torch.h>

#include "kernels/aspect_attention.h"
#include "masp/aspect_modules.h"
#include "test_support.h"

namespace emotune {
namespace {

// The attention block must be PyTorch's MultiheadAttention (one head) so published MASP weights map 1:1.
TEST(AspectAttention, MatchesPyTorchMultiheadAttention) {
  torch::manual_seed(3);
  const int64_t d = 24, q = 5, t = 11, b = 3;
  torch::nn::MultiheadAttention mha(torch::nn::MultiheadAttentionOptions(d, 1));
  for (auto& p : mha->parameters()) p.data().normal_(0, 0.3);  // non-zero biases too
  AspectAttentionWeights w{torch::randn({q, d}), mha->in_proj_weight.detach(), mha->in_proj_bias.detach(),
                           mha->out_proj->weight.detach(), mha->out_proj->bias.detach()};
  auto visual = torch::randn({b, t, d});
  auto ours = aspect_attention_reference(w, visual);
  // torch MHA takes [L, N, E]: queries repeated over the batch, keys = values = V_global.
  auto query = w.query.unsqueeze(1).expand({q, b, d});
  auto kv = visual.transpose(0, 1);
  auto theirs = std::get<0>(mha->forward(query, kv, kv)).transpose(0, 1);
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-6)) << (ours - theirs).abs().max().item<float>();
}

// Gradients of the reference against central finite differences (double precision).
TEST(AspectAttention, GradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  const int64_t d = 6, q = 2, t = 5;
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  AspectAttentionWeights w{torch::randn({q, d}, opts), torch::randn({3 * d, d}, opts) * 0.5, torch::randn({3 * d}, opts) * 0.1,
                           torch::randn({d, d}, opts) * 0.5, torch::randn({d}, opts) * 0.1};
  std::vector<torch::Tensor*> params{&w.query, &w.in_proj_weight, &w.in_proj_bias, &w.out_proj_weight, &w.out_proj_bias};
  for (auto* p : params) p->set_requires_grad(true);
  auto visual = torch::randn({2, t, d}, opts);
  auto probe = torch::randn({2, q, d}, opts);
  auto objective = [&] { return (aspect_attention_reference(w, visual) * probe).sum(); };
  objective().backward();
  testing::expect_gradients_match_finite_differences(params, objective);
}

TEST(AspectModules, ShapesNamesAndSeededInit) {
  AspectModules a(AspectModulesOptions{{"scene", "brightness"}, 16, 3, 9}), b(AspectModulesOptions{{"scene", "brightness"}, 16, 3, 9});
  auto names = a->named_tensors();
  EXPECT_EQ(names.size(), 10u);
  EXPECT_EQ(names.at("aspect.scene.query").sizes(), (std::vector<int64_t>{3, 16}));
  EXPECT_EQ(names.at("aspect.brightness.in_proj_weight").sizes(), (std::vector<int64_t>{48, 16}));
  EXPECT_EQ(names.at("aspect.brightness.out_proj.bias").sizes(), (std::vector<int64_t>{16}));
  for (const auto& [n, t] : names) EXPECT_TRUE(torch::equal(t, b->named_tensors().at(n))) << n;
  EXPECT_EQ(a->forward_all(torch::randn({2, 7, 16})).sizes(), (std::vector<int64_t>{2, 6, 16}));
}

}  // namespace
}  // namespace emotune
