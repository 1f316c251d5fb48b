#include "personal/user_prompt.h"

#include <torch/torch.h>

#include <optional>

#include "masp/answer_scoring.h"
#include "personal/early_stopping.h"

namespace emotune {

double user_prompt_loss(const PromptData& d, const std::vector<int64_t>& which, const torch::Tensor& prompt,
                        int64_t batch_size, bool backward) {
  std::optional<torch::NoGradGuard> no_grad;
  if (!backward) no_grad.emplace();
  double total = 0;
  const auto n = static_cast<double>(which.size());
  for (size_t lo = 0; lo < which.size(); lo += static_cast<size_t>(batch_size)) {
    const size_t hi = std::min(which.size(), lo + static_cast<size_t>(batch_size));
    std::vector<int64_t> ids(which.begin() + static_cast<long>(lo), which.begin() + static_cast<long>(hi));
    auto visual = d.images.visual(ids);
    std::vector<SequenceSpec> specs;
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto& s = d.samples.at(static_cast<size_t>(ids[i]));
      auto z = d.aspect_tokens.defined() ? d.aspect_tokens[ids[i]] : torch::Tensor();
      specs.push_back(d.model.spec(visual[static_cast<int64_t>(i)], z, &d.model.labels.at(static_cast<size_t>(s.label)), prompt));
    }
    // Each chunk contributes (its size / all) of the mean, so the accumulated gradient is the full batch's.
    auto loss = score_answers(*d.model.vlm, d.model.builder->assemble(specs)).mean_loss() * (static_cast<double>(ids.size()) / n);
    if (backward) loss.backward();
    total += loss.item<double>();
  }
  return total;
}

PromptFit fit_user_prompt(const PromptData& d, const torch::Tensor& global_prompt, const std::vector<int64_t>& fit,
                          const std::vector<int64_t>& holdout, const PromptFitOptions& o) {
  auto anchor = global_prompt.detach();
  auto prompt = anchor.clone().requires_grad_(true);
  PromptFit best{anchor.clone(), 0, -1};
  if (fit.empty()) return best;
  const bool has_holdout = !holdout.empty();
  if (has_holdout) best.holdout_loss = user_prompt_loss(d, holdout, anchor, o.batch_size, false);
  torch::optim::Adam adam({prompt}, torch::optim::AdamOptions(o.lr));
  EarlyStopping stopping(best.holdout_loss, o.patience);
  for (int64_t step = 1; step <= o.steps; ++step) {
    adam.zero_grad();
    user_prompt_loss(d, fit, prompt, o.batch_size, true);
    if (o.l2 > 0) ((prompt - anchor).pow(2).mean() * o.l2).backward();
    adam.step();
    if (!has_holdout || (step % o.eval_every != 0 && step != o.steps)) continue;
    double held = user_prompt_loss(d, holdout, prompt.detach(), o.batch_size, false);
    if (stopping.improved(held)) best = {prompt.detach().clone(), step, held};
    else if (stopping.exhausted()) break;
  }
  if (!has_holdout) best = {prompt.detach().clone(), o.steps, -1};
  return best;
}

}  // namespace emotune
