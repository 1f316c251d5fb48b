#include "personal/personal_head.h"

#include <torch/torch.h>

#include "core/error.h"
#include "train/small_fit.h"
#include "train/task.h"

namespace emotune {

torch::Tensor LinearHead::logits(const torch::Tensor& features) const {
  return torch::addmm(bias, features, weight.t());
}

LinearHead zero_head(int64_t classes, int64_t features) {
  return {torch::zeros({classes, features}), torch::zeros({classes})};
}

FeatureScaler FeatureScaler::fit(const torch::Tensor& features) {
  auto mean = features.mean(0);
  auto std = features.std(0, /*unbiased=*/false).clamp_min(1e-6);
  return {mean, std};
}

torch::Tensor FeatureScaler::apply(const torch::Tensor& features) const { return (features - mean) / std; }

torch::Tensor head_features(const std::vector<std::string>& inputs, const torch::Tensor& aspect_tokens,
                            const torch::Tensor& label_scores, const std::string& key) {
  std::vector<torch::Tensor> parts;
  for (const auto& input : inputs) {
    if (input == "aspect_tokens") {
      if (!aspect_tokens.defined())
        raise(key, " has aspect_tokens, but the checkpoint has no aspect modules (masp.use_aspects: false?)");
      parts.push_back(aspect_tokens.to(torch::kCPU, torch::kFloat32).flatten(1));
    } else if (input == "label_scores") {
      parts.push_back(torch::log_softmax(label_scores.to(torch::kCPU, torch::kFloat32), 1));
    } else {
      raise(key, ": unknown input '", input, "'");
    }
  }
  if (parts.empty()) raise("config key '", key, "' is empty");
  return torch::cat(parts, 1);
}

namespace {
// A head as a trainer task: rows of `x` are the samples; the pull toward the anchor is the regularizer.
class HeadTask final : public TrainTask {
 public:
  HeadTask(const LinearHead& anchor, torch::Tensor x, torch::Tensor y, double l2)
      : anchor_(anchor), x_(std::move(x)), y_(std::move(y)), l2_(l2),
        head_{anchor.weight.detach().clone(), anchor.bias.detach().clone()} {}
  std::string stage() const override { return "head"; }
  int64_t num_samples() const override { return x_.size(0); }
  NamedTensors trainable() override { return {{"weight", head_.weight}, {"bias", head_.bias}}; }
  NamedTensors checkpoint_tensors() override { return trainable(); }
  LossSum loss_sum(const std::vector<int64_t>& samples, int64_t) override {
    auto rows = torch::tensor(samples, torch::kInt64);
    auto ce = torch::nn::functional::cross_entropy(head_.logits(x_.index_select(0, rows)), y_.index_select(0, rows),
                                                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    return {ce, static_cast<double>(samples.size())};
  }
  // l2 · (‖W − W_a‖² + ‖b − b_a‖²)
  torch::Tensor regularizer() override {
    return l2_ * ((head_.weight - anchor_.weight).pow(2).sum() + (head_.bias - anchor_.bias).pow(2).sum());
  }

 private:
  LinearHead anchor_;
  torch::Tensor x_, y_;
  double l2_;
  LinearHead head_;
};

}  // namespace

HeadFit fit_head(const LinearHead& anchor, const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                 const torch::Tensor& x_holdout, const torch::Tensor& y_holdout, const HeadFitOptions& o) {
  const bool has_holdout = x_holdout.defined() && x_holdout.size(0) > 0;
  const int64_t n_fit = x_fit.size(0), n_held = has_holdout ? x_holdout.size(0) : 0;
  HeadTask task(anchor, has_holdout ? torch::cat({x_fit, x_holdout}) : x_fit, has_holdout ? torch::cat({y_fit, y_holdout}) : y_fit, o.l2);
  // Full batch: every fitted row in one forward pass, every held-out row in one.
  SmallFitOptions fit{small_fit_adam(o.lr, std::max<int64_t>({1, n_fit, n_held})), o.steps, o.eval_every, o.patience};
  auto r = fit_small(task, index_range(0, n_fit), index_range(n_fit, n_fit + n_held), fit);
  return {{r.best.at("weight"), r.best.at("bias")}, r.steps, r.holdout_loss};
}

}  // namespace emotune
