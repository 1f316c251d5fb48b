// The small fit: a few full-batch optimizer steps on a handful of samples, with early stopping on held-out
// ones, driven by the trainer's machinery (optimizer, schedule, accumulation weighting: train/trainer.h).
// Personalisation fits a head and a soft prompt per user with it (personal/); nothing is written to disk.
//
//   held-out loss of the start (the anchor) → step 1 … steps: the gradient of the mean loss over all `fit`
//   samples (+ the task's regularizer), one optimizer step; every `eval_every` steps (and at the last) the
//   held-out loss: a new best keeps the parameters, `patience` checks without one stop the fit.
#pragma once
#include <cstdint>
#include <vector>

#include "config/config.h"
#include "train/task.h"

namespace emotune {

struct SmallFitOptions {
  TrainConfig train;       // optimizer, lr, schedule, betas; batch_size: samples per forward pass
  int64_t steps = 40;
  int64_t eval_every = 5;
  int64_t patience = 4;
};

struct SmallFitResult {
  NamedTensors best;         // the kept trainable tensors (detached copies)
  int64_t steps = 0;         // the step that gave them (0: the start)
  double holdout_loss = -1;  // their held-out loss; < 0: no held-out samples (all steps taken)
};

// begin, begin + 1, ..., end - 1: the fit's and the held-out samples when a task holds them one after the other.
std::vector<int64_t> index_range(int64_t begin, int64_t end);

// Adam with constant lr `lr`: what personalisation's fits use.
TrainConfig small_fit_adam(double lr, int64_t batch_size);

SmallFitResult fit_small(TrainTask& task, const std::vector<int64_t>& fit, const std::vector<int64_t>& holdout,
                         const SmallFitOptions& options);

}  // namespace emotune
