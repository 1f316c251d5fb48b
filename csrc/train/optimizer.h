// Optimizers (AdamW, SGD from LibTorch), the learning-rate schedule, and the optimizer state as named
// tensors ("optim.<param>.exp_avg" …) so that it lives in the same safetensors file as the parameters and a
// resumed run continues exactly where the interrupted one stopped.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "config/config.h"
#include "io/safetensors.h"

namespace emotune {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config, const NamedTensors& params);
// Linear warm-up over warmup_ratio·total steps, then linear decay to 0 or constant.
double learning_rate_at(const TrainConfig& config, int64_t step, int64_t total_steps);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

NamedTensors export_optimizer_state(const torch::optim::Optimizer& optimizer, const NamedTensors& params);
void import_optimizer_state(torch::optim::Optimizer& optimizer, const NamedTensors& params,
                            const NamedTensors& state, const std::string& source);

}  // namespace emotune
