// The training loop: seeded data order, micro-batches with gradient accumulation, optimizer + schedule,
// progress bar, metrics.jsonl, atomic checkpoints and exact resume.
//
// Files in run_dir:
//   checkpoint.safetensors  the trained tensors (what eval/predict load)
//   resume.safetensors      the same plus optimizer state, step in metadata
//   metrics.jsonl           one JSON object per optimizer step ("loss"), and one per validation ("val_loss")
#pragma once
#include <string>

#include <torch/torch.h>

#include "config/config.h"
#include "dist/communicator.h"
#include "train/task.h"

namespace emotune {

struct TrainerOptions {
  TrainConfig train;
  std::string run_dir;
  uint64_t seed = 0;
  std::string bundle_name;
  std::string config_yaml;
  // A task over held-out samples whose trainable tensors are the training task's own (the same tensor
  // objects): its mean loss is logged at the points train.validation_split's doc names. nullptr: none.
  TrainTask* validation = nullptr;
  // The ranks that train together (data parallel: each takes its share of every step's samples, gradients are
  // reduced, rank 0 alone writes); nullptr: world() — one process unless torchrun launched several.
  Communicator* group = nullptr;
};

struct TrainResult {
  int64_t step = 0;         // optimizer steps done in total (including resumed ones)
  int64_t total_steps = 0;
  double last_loss = 0.0;
  double samples_per_second = 0.0;
  bool finished = false;    // false when stopped early by train.stop_after_steps
  std::string checkpoint;   // path of checkpoint.safetensors
  double best_validation_loss = -1;  // the lowest logged validation loss of this invocation; < 0: none
  int64_t best_validation_step = 0;
};

TrainResult run_training(TrainTask& task, const TrainerOptions& options);

// The pieces of one optimizer step, shared with the small fits (train/small_fit.h):
// Forward and backward over `samples` (this rank's share of the step) in micro-batches of `batch_size`; the
// accumulated gradient is that of the step's mean loss over every rank's share, Σ sums / Σ counts of the task's
// LossSums reduced over `group` (so equal to one batch of all of them in one process), plus the task's
// regularizer once. Returns that mean loss, the same on every rank.
double accumulate_gradients(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size, int64_t epoch,
                            Communicator& group = local_process());
// The same mean without gradient (held-out checks; epoch -1: evaluation's choices, e.g. the first template).
double mean_loss(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size, Communicator& group = local_process());
// Clips, sets the scheduled learning rate of `step`, steps, and leaves the gradients undefined. Returns the lr.
double optimizer_step(torch::optim::Optimizer& optimizer, NamedTensors& params, const TrainConfig& config, int64_t step,
                      int64_t total_steps);
// The sample order of an epoch: a function of (seed, epoch) alone, so a resumed run sees the same batches.
std::vector<int64_t> epoch_order(int64_t samples, bool shuffle, uint64_t seed, int64_t epoch);

}  // namespace emotune
