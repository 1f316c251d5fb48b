// The small fit (train/small_fit.h) and the step pieces it shares with the trainer (train/trainer.h), on a
// least-squares task whose gradient and optimum are known.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "train/small_fit.h"
#include "train/trainer.h"

namespace emotune {
namespace {

// Samples (x_i, y_i); loss = mean (w·x_i − y_i)²; an optional pull λ‖w − a‖² as the regularizer.
class LeastSquares final : public TrainTask {
 public:
  LeastSquares(torch::Tensor x, torch::Tensor y, double pull = 0, torch::Tensor anchor = {})
      : x_(std::move(x)), y_(std::move(y)), pull_(pull), anchor_(std::move(anchor)), w_(torch::zeros({x_.size(1)})) {}
  std::string stage() const override { return "lsq"; }
  int64_t num_samples() const override { return x_.size(0); }
  NamedTensors trainable() override { return {{"w", w_}}; }
  NamedTensors checkpoint_tensors() override { return trainable(); }
  LossSum loss_sum(const std::vector<int64_t>& samples, int64_t) override {
    auto rows = torch::tensor(samples, torch::kInt64);
    return {(x_.index_select(0, rows).mv(w_) - y_.index_select(0, rows)).pow(2).sum(), static_cast<double>(samples.size())};
  }
  torch::Tensor regularizer() override { return pull_ > 0 ? pull_ * (w_ - anchor_).pow(2).sum() : torch::Tensor(); }
  torch::Tensor& w() { return w_; }

 private:
  torch::Tensor x_, y_;
  double pull_;
  torch::Tensor anchor_, w_;
};

std::vector<int64_t> range(int64_t a, int64_t b) {
  std::vector<int64_t> out;
  for (int64_t i = a; i < b; ++i) out.push_back(i);
  return out;
}

TEST(SmallFit, AccumulatedGradientIsTheFullBatchGradientAtAnyMicroBatchSize) {
  torch::manual_seed(1);
  auto x = torch::randn({10, 3}), y = torch::randn({10});
  LeastSquares task(x, y, 0.5, torch::ones({3}));
  task.w().set_requires_grad(true);
  // At w = 0: the data term's gradient is −2/N Σ y_i x_i, the pull's (entering once per step) −2λa.
  const auto expected = -2.0 / 10 * x.t().mv(y) - 2 * 0.5 * torch::ones({3});
  for (int64_t batch : {1, 3, 10}) {
    const double loss = accumulate_gradients(task, range(0, 10), batch, 0);
    EXPECT_TRUE(torch::allclose(task.w().grad(), expected, 1e-5, 1e-6)) << "micro-batch " << batch << ": " << task.w().grad();
    EXPECT_NEAR(loss, y.pow(2).mean().item<double>(), 1e-6);
    EXPECT_NEAR(mean_loss(task, range(0, 10), batch), loss, 1e-6) << "mean_loss is the same mean, without gradient";
    task.w().mutable_grad() = torch::Tensor();
  }
}

TEST(SmallFit, WithoutHeldOutSamplesEveryStepIsTaken) {
  torch::manual_seed(2);
  auto x = torch::randn({32, 2});
  LeastSquares task(x, x.mv(torch::tensor({1.5, -2.0})));
  SmallFitOptions o{small_fit_adam(0.1, 8), 60, 5, 2};
  auto r = fit_small(task, range(0, 32), {}, o);
  EXPECT_EQ(r.steps, 60);
  EXPECT_LT(r.holdout_loss, 0);
  EXPECT_TRUE(torch::allclose(r.best.at("w"), torch::tensor({1.5, -2.0}), 0.2, 0.2)) << r.best.at("w");
}

// Held-out samples that disagree with the fitted ones: their loss falls, then rises as the fit goes on; the
// fit keeps the parameters of the best check and stops `patience` checks later.
TEST(SmallFit, EarlyStoppingKeepsTheBestHeldOutParameters) {
  auto x = torch::ones({4, 1});
  auto y = torch::tensor({2.0, 2.0, 1.0, 1.0});  // fit rows pull w to 2, held-out rows prefer 1
  LeastSquares task(x, y);
  SmallFitOptions o{small_fit_adam(0.05, 2), 200, 1, 3};
  auto r = fit_small(task, {0, 1}, {2, 3}, o);
  ASSERT_GT(r.steps, 0);
  EXPECT_LT(r.steps, 200) << "stopped early";
  EXPECT_NEAR(r.best.at("w").item<double>(), 1.0, 0.06) << "kept where the held-out loss was lowest";
  EXPECT_NEAR(r.holdout_loss, std::pow(r.best.at("w").item<double>() - 1.0, 2), 1e-6);
  EXPECT_GT(task.w().item<double>(), r.best.at("w").item<double>()) << "the live parameters went on past the best";
}

TEST(SmallFit, NoFittedSamplesReturnTheStart) {
  LeastSquares task(torch::ones({2, 1}), torch::ones({2}));
  auto r = fit_small(task, {}, {0, 1}, {small_fit_adam(0.1, 2), 10, 1, 1});
  EXPECT_EQ(r.steps, 0);
  EXPECT_EQ(r.best.at("w").item<double>(), 0.0);
}

}  // namespace
}  // namespace emotune
