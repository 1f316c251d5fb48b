// The dimension head (dimensions/dimension_head.h): its fit against the closed-form least-squares solution, the ridge
// pulling it to the training mean, the exact safetensors round trip and its refusals; the rated rows of a manifest;
// the rating errors of eval/metrics.h against a hand computation.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/error.h"
#include "data/manifest.h"
#include "dimensions/dimension_head.h"
#include "eval/metrics.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace emotune {
namespace {

// y = x A + c + noise, two ratings on different scales (a 1–9 valence, an arousal around 3).
struct LinearData {
  torch::Tensor x, y;
};
LinearData linear_data(int64_t n, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({n, 6}, g) * torch::tensor({1.0, 2.0, 0.5, 3.0, 1.0, 0.1}) + 4.0;
  auto a = torch::tensor({{0.5, -0.2}, {0.1, 0.3}, {-1.0, 0.0}, {0.0, 0.05}, {0.3, 0.3}, {2.0, -1.0}});
  auto y = torch::matmul(x, a) + torch::tensor({5.0, 3.0}) + 0.05 * torch::randn({n, 2}, g);
  return {x.to(torch::kFloat32), y.to(torch::kFloat32)};
}

TEST(DimensionHead, FitMatchesLeastSquares) {
  auto d = linear_data(400, 1);
  auto fit = fit_dimension_head({"valence", "arousal"}, {"label_scores"}, d.x, d.y, {}, {}, {3000, 0.02, 0.0, 10, 5});
  EXPECT_EQ(fit.steps, 3000);
  EXPECT_LT(fit.holdout_mse, 0);  // no held-out images
  // The reference: ordinary least squares on [x, 1] in float64.
  auto design = torch::cat({d.x, torch::ones({400, 1})}, 1).to(torch::kFloat64);
  auto solution = std::get<0>(torch::linalg_lstsq(design, d.y.to(torch::kFloat64)));
  auto reference = torch::matmul(design, solution);
  auto predicted = fit.head.predict(d.x).to(torch::kFloat64);
  EXPECT_LT((predicted - reference).abs().max().item<double>(), 2e-3) << "the fit reaches the least-squares optimum";
  // Its error is the noise's (0.05²), far below predicting the mean.
  auto mse = (predicted - d.y).pow(2).mean(0);
  EXPECT_LT(mse.max().item<double>(), 0.05 * 0.05 * 1.2);
}

TEST(DimensionHead, RidgePullsToTheTrainingMeanAndHoldoutStopsEarly) {
  auto d = linear_data(200, 2);
  auto flat = fit_dimension_head({"valence", "arousal"}, {"label_scores"}, d.x, d.y, {}, {}, {200, 0.02, 1e6, 10, 5});
  auto mean = d.y.mean(0);
  EXPECT_LT((flat.head.predict(d.x) - mean).abs().max().item<double>(), 1e-3) << "a huge ridge leaves the training mean";
  // Held-out ratings unrelated to the features: no step beats the start, so the start (the mean) is kept.
  auto unrelated = torch::randn({100, 2}, at::detail::createCPUGenerator(9)) + mean;
  auto stopped = fit_dimension_head({"valence", "arousal"}, {"label_scores"}, d.x, d.y, d.x.slice(0, 0, 100), unrelated, {500, 0.02, 0.0, 10, 3});
  EXPECT_LT(stopped.steps, 100) << "early stopping on held-out images";
  EXPECT_GE(stopped.holdout_mse, 0);
}

TEST(DimensionHead, SafetensorsRoundTripIsExactAndRefusesOtherFiles) {
  auto d = linear_data(100, 3);
  auto fit = fit_dimension_head({"valence", "arousal"}, {"aspect_tokens", "label_scores"}, d.x, d.y, {}, {}, {50, 0.02, 1e-3, 10, 5});
  fit.head.checkpoint_sha256 = "abc123";
  fit.head.labels = {"awe", "fear"};
  const auto dir = testing::scratch_dir("dimension-head");
  save_dimension_head(dir + "/head.safetensors", fit.head);
  auto loaded = load_dimension_head(dir + "/head.safetensors");
  EXPECT_EQ(loaded.names, fit.head.names);
  EXPECT_EQ(loaded.inputs, fit.head.inputs);
  EXPECT_EQ(loaded.checkpoint_sha256, "abc123");
  EXPECT_EQ(loaded.labels, fit.head.labels);
  EXPECT_TRUE(torch::equal(loaded.predict(d.x), fit.head.predict(d.x)));

  save_safetensors(dir + "/other.safetensors", {{"w", torch::zeros({2})}}, {{"format", "lantern-fusion-features-v2"}});
  auto e = testing::error_message([&] { load_dimension_head(dir + "/other.safetensors"); });
  EXPECT_NE(e.find("other.safetensors: format 'lantern-fusion-features-v2', expected 'emotune-dimension-head-v1'"), std::string::npos) << e;
  auto content = load_safetensors(dir + "/head.safetensors");
  content.tensors["dimension_head.bias"] = torch::zeros({3});
  save_safetensors(dir + "/bad.safetensors", content.tensors, content.metadata);
  e = testing::error_message([&] { load_dimension_head(dir + "/bad.safetensors"); });
  EXPECT_NE(e.find("tensor shapes disagree"), std::string::npos) << e;
}

TEST(DimensionHead, RatedRowsOfAManifest) {
  std::vector<ManifestRow> rows(4);
  rows[0].dimensions = {{"valence", 6.5}, {"arousal", 3.0}};
  rows[1].dimensions = {{"valence", 2.0}};  // no arousal: left out
  rows[3].dimensions = {{"arousal", 7.0}, {"valence", 1.5}, {"dominance", 4.0}};
  auto t = dimension_targets(rows, {"valence", "arousal"});
  EXPECT_EQ(t.rows, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(torch::equal(t.values, torch::tensor({{6.5f, 3.0f}, {1.5f, 7.0f}})));
}

TEST(DimensionErrors, MatchAHandComputation) {
  auto predicted = torch::tensor({{1.0, 5.0}, {2.0, 5.0}, {4.0, 5.0}});
  auto gold = torch::tensor({{1.0, 4.0}, {3.0, 6.0}, {5.0, 8.0}});
  auto j = dimension_errors(predicted, gold, {"valence", "arousal"}, torch::tensor({2.0, 6.0}));
  // valence: errors 0, -1, -1 → MSE 2/3, MAE 2/3; centred p (-4/3, -1/3, 5/3), g (-2, 0, 2): r = 6 / sqrt(14/3 · 8)
  EXPECT_NEAR(j["valence"]["mse"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(j["valence"]["mae"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(j["valence"]["pearson"].get<double>(), 6.0 / std::sqrt(14.0 / 3 * 8), 1e-12);
  EXPECT_NEAR(j["valence"]["baseline_mse"].get<double>(), (1.0 + 1 + 9) / 3, 1e-12);
  EXPECT_EQ(j["valence"]["items"].get<int64_t>(), 3);
  // arousal: a constant prediction has no correlation (null), errors 1, 1, 3
  EXPECT_TRUE(j["arousal"]["pearson"].is_null());
  EXPECT_NEAR(j["arousal"]["mse"].get<double>(), 11.0 / 3, 1e-12);
  EXPECT_NEAR(j["arousal"]["baseline_mse"].get<double>(), (4.0 + 0 + 4) / 3, 1e-12);
}

}  // namespace
}  // namespace emotune
