#include "personal/user_prompt.h"

#include <torch/torch.h>

#include "masp/tasks.h"
#include "train/small_fit.h"

namespace emotune {
namespace {
// Stage 2's task on a user's own prompt, pulled toward the global one.
class UserPromptTask final : public PromptTask {
 public:
  UserPromptTask(const PromptData& d, const torch::Tensor& anchor, double l2, LossReduction reduction)
      : PromptTask(d.model, d.images, d.samples, {true, anchor.clone(), d.aspect_tokens, reduction}), anchor_(anchor), l2_(l2) {}
  torch::Tensor regularizer() override {
    if (l2_ <= 0) return {};
    return (trainable().at("soft_prompt") - anchor_).pow(2).mean() * l2_;  // λ‖P_u − P_g‖² / numel
  }

 private:
  torch::Tensor anchor_;
  double l2_;
};
}  // namespace

PromptFit fit_user_prompt(const PromptData& d, const torch::Tensor& global_prompt, const std::vector<int64_t>& fit,
                          const std::vector<int64_t>& holdout, const PromptFitOptions& o) {
  UserPromptTask task(d, global_prompt.detach(), o.l2, o.reduction);
  SmallFitOptions options{small_fit_adam(o.lr, o.batch_size), o.steps, o.eval_every, o.patience};
  auto r = fit_small(task, fit, holdout, options);
  return {r.best.at("soft_prompt"), r.steps, r.holdout_loss};
}

}  // namespace emotune
