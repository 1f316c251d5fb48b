// Per-user soft prompts: a user's prompt starts as the global stage-2 prompt and is fitted on that user's few
// training images with everything else frozen (the stage-2 loss of paper Eq. 5, on the user's labels: stage
// 2's own task, masp/tasks.h). Few images overfit fast, so the held-out part of the user's training images
// decides when to stop (the small fit, train/small_fit.h), and an optional L2 pull toward the global prompt,
// λ‖P_u − P_g‖² / numel, regularises further.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "masp/emotion_model.h"
#include "masp/samples.h"

namespace emotune {

struct PromptFitOptions {
  int64_t steps = 40;
  int64_t batch_size = 16;  // sequences per forward pass; a step uses all fitted images
  double lr = 0.01;
  double l2 = 0.0;
  int64_t eval_every = 5;
  int64_t patience = 4;
  LossReduction reduction = LossReduction::TokenMean;  // train.loss_reduction
};
struct PromptFit {
  torch::Tensor prompt;      // [L, D]
  int64_t steps = 0;         // steps of the kept prompt
  double holdout_loss = -1;  // < 0: no held-out images
};

// The images of one split with their cached aspect tokens, and the samples (label per image).
struct PromptData {
  EmotionModel& model;
  ImageFeatures& images;
  torch::Tensor aspect_tokens;  // [N, A·Q, D] or undefined
  const std::vector<EmotionSample>& samples;
};

PromptFit fit_user_prompt(const PromptData& data, const torch::Tensor& global_prompt, const std::vector<int64_t>& fit,
                          const std::vector<int64_t>& holdout, const PromptFitOptions& options);

}  // namespace emotune
