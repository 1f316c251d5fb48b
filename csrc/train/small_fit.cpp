#include "train/small_fit.h"

#include <torch/torch.h>

#include "train/early_stopping.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace emotune {
namespace {
NamedTensors detached_copy(const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors) out[name] = t.detach().clone();
  return out;
}
}  // namespace

TrainConfig small_fit_adam(double lr, int64_t batch_size) {
  TrainConfig c;
  c.optimizer = "adamw";
  c.lr = lr;
  c.weight_decay = 0.0;  // AdamW without decay is Adam; a fit's pull toward its anchor is the task's regularizer
  c.warmup_ratio = 0.0;
  c.schedule = "constant";
  c.batch_size = batch_size;
  return c;
}

SmallFitResult fit_small(TrainTask& task, const std::vector<int64_t>& fit, const std::vector<int64_t>& holdout,
                         const SmallFitOptions& o) {
  NamedTensors params = task.trainable();
  SmallFitResult best{detached_copy(params), 0, -1};
  if (fit.empty()) return best;
  const int64_t batch = std::max<int64_t>(1, o.train.batch_size);
  const bool has_holdout = !holdout.empty();
  if (has_holdout) best.holdout_loss = mean_loss(task, holdout, batch);
  for (auto& [name, p] : params) p.set_requires_grad(true);
  auto optimizer = make_optimizer(o.train, params);
  EarlyStopping stopping(best.holdout_loss, o.patience);
  for (int64_t step = 1; step <= o.steps; ++step) {
    accumulate_gradients(task, fit, batch, step - 1);
    optimizer_step(*optimizer, params, o.train, step - 1, o.steps);
    if (!has_holdout || (step % o.eval_every != 0 && step != o.steps)) continue;
    double held = mean_loss(task, holdout, batch);
    if (stopping.improved(held)) best = {detached_copy(params), step, held};
    else if (stopping.exhausted()) break;
  }
  if (!has_holdout) best = {detached_copy(params), o.steps, -1};
  return best;
}

std::vector<int64_t> index_range(int64_t begin, int64_t end) {
  std::vector<int64_t> out;
  for (int64_t i = begin; i < end; ++i) out.push_back(i);
  return out;
}

}  // namespace emotune
