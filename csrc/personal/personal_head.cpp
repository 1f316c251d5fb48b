#include "personal/personal_head.h"

#include <torch/torch.h>

#include "core/error.h"
#include "personal/early_stopping.h"

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
                            const torch::Tensor& label_scores) {
  std::vector<torch::Tensor> parts;
  for (const auto& input : inputs) {
    if (input == "aspect_tokens") {
      if (!aspect_tokens.defined())
        raise("personal.head_inputs has aspect_tokens, but the global checkpoint has no aspect modules (masp.use_aspects: false?)");
      parts.push_back(aspect_tokens.to(torch::kCPU, torch::kFloat32).flatten(1));
    } else if (input == "label_scores") {
      parts.push_back(torch::log_softmax(label_scores.to(torch::kCPU, torch::kFloat32), 1));
    } else {
      raise("personal.head_inputs: unknown input '", input, "'");
    }
  }
  if (parts.empty()) raise("config key 'personal.head_inputs' is empty");
  return torch::cat(parts, 1);
}

namespace {
double holdout_loss_of(const LinearHead& h, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return torch::cross_entropy_loss(h.logits(x), y).item<double>();
}
}  // namespace

HeadFit fit_head(const LinearHead& anchor, const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                 const torch::Tensor& x_holdout, const torch::Tensor& y_holdout, const HeadFitOptions& o) {
  LinearHead h{anchor.weight.detach().clone().requires_grad_(true), anchor.bias.detach().clone().requires_grad_(true)};
  HeadFit best{{anchor.weight.detach().clone(), anchor.bias.detach().clone()}, 0, -1};
  if (x_fit.size(0) == 0) return best;
  const bool has_holdout = x_holdout.defined() && x_holdout.size(0) > 0;
  if (has_holdout) best.holdout_loss = holdout_loss_of(best.head, x_holdout, y_holdout);
  torch::optim::Adam adam({h.weight, h.bias}, torch::optim::AdamOptions(o.lr));
  EarlyStopping stopping(best.holdout_loss, o.patience);
  for (int64_t step = 1; step <= o.steps; ++step) {
    adam.zero_grad();
    auto loss = torch::cross_entropy_loss(h.logits(x_fit), y_fit) +
                o.l2 * ((h.weight - anchor.weight).pow(2).sum() + (h.bias - anchor.bias).pow(2).sum());
    loss.backward();
    adam.step();
    if (!has_holdout) continue;
    if (step % o.eval_every != 0 && step != o.steps) continue;
    double held = holdout_loss_of(h, x_holdout, y_holdout);
    if (stopping.improved(held)) best = {{h.weight.detach().clone(), h.bias.detach().clone()}, step, held};
    else if (stopping.exhausted()) break;
  }
  if (!has_holdout) best = {{h.weight.detach().clone(), h.bias.detach().clone()}, o.steps, -1};
  return best;
}

}  // namespace emotune
