// What the trainer needs from a training stage. The trainer knows nothing about MASP: a task says which
// tensors train, what a checkpoint holds, and how a list of sample indices becomes a loss.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "io/safetensors.h"

namespace emotune {

// A loss as a sum and the number of terms it sums (answer tokens, or samples): any split of a step into
// micro-batches — and of a batch over processes — reduces to the same mean, Σ sums / Σ counts.
struct LossSum {
  torch::Tensor sum;  // differentiable
  double count = 0;
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual std::string stage() const = 0;
  virtual int64_t num_samples() const = 0;
  // Leaf tensors the optimizer updates (the same tensor objects on every call).
  virtual NamedTensors trainable() = 0;
  // What a checkpoint of this stage holds: the trainable tensors and whatever else evaluation needs.
  virtual NamedTensors checkpoint_tensors() = 0;
  // The loss of the given samples as a sum and its count. `epoch` seeds per-epoch random choices (e.g.
  // question templates); -1: evaluation's choices.
  virtual LossSum loss_sum(const std::vector<int64_t>& samples, int64_t epoch) = 0;
  // The mean, sum / count, of those samples alone.
  torch::Tensor loss(const std::vector<int64_t>& samples, int64_t epoch) {
    auto l = loss_sum(samples, epoch);
    return l.sum / l.count;
  }
  // A term added once per optimizer step, whatever the batch (e.g. an L2 pull toward an anchor);
  // undefined: none.
  virtual torch::Tensor regularizer() { return {}; }
};

}  // namespace emotune
