// The two MASP training stages as trainer tasks.
#pragma once
#include <string>
#include <vector>

#include "masp/aspect_modules.h"
#include "masp/emotion_model.h"
#include "masp/image_features.h"
#include "masp/samples.h"
#include "train/task.h"

namespace emotune {

class FrozenVLM;

// Stage 1 (Eq. 1-2): each sample puts one aspect's tokens z_i in the image span and asks that aspect's
// question; the loss is the answer's token cross-entropy. Gradient reaches only the sampled aspect's module.
class AspectTask final : public TrainTask {
 public:
  AspectTask(FrozenVLM& vlm, const SequenceBuilder& builder, AspectModules modules, ImageFeatures& images,
             std::vector<AspectSample> samples, std::vector<std::vector<std::string>> questions, uint64_t seed,
             LossReduction reduction = LossReduction::TokenMean);
  std::string stage() const override { return "aspects"; }
  int64_t num_samples() const override { return static_cast<int64_t>(samples_.size()); }
  NamedTensors trainable() override { return modules_->named_tensors(); }
  NamedTensors checkpoint_tensors() override { return modules_->named_tensors(); }
  LossSum loss_sum(const std::vector<int64_t>& samples, int64_t epoch) override;

  const std::vector<AspectSample>& samples() const { return samples_; }
  // The question of sample `index` in `epoch`: training draws a template per sample and epoch.
  const std::string& question(int64_t index, int64_t epoch) const;
  SequenceBatch batch(const std::vector<int64_t>& samples, int64_t epoch);

 private:
  FrozenVLM& vlm_;
  const SequenceBuilder& builder_;
  AspectModules modules_;  // shared with the caller (a module holder)
  ImageFeatures& images_;
  std::vector<AspectSample> samples_;
  std::vector<std::vector<std::string>> questions_;
  uint64_t seed_;
  LossReduction reduction_;
};

struct PromptTaskOptions {
  // With use_prefix_cache (and a bundle that has one), each batch's prefix — chat prefix, aspect and visual
  // tokens — is prefilled without gradient and only the positions from the soft prompt on are
  // differentiated (issue 6's fast path; equal loss and gradient, tests/masp/test_prefix_cache.cpp).
  bool use_prefix_cache = true;
  // The prompt that trains; undefined: the model's soft prompt (a user's prompt: personal/user_prompt.h).
  torch::Tensor prompt;
  // Aspect tokens of every image [N, A·Q, D] when already computed; undefined: computed here if cached.
  torch::Tensor aspect_tokens;
  LossReduction reduction = LossReduction::TokenMean;  // train.loss_reduction
};

// Stage 2 (Eq. 3-5): only the soft prompt trains; aspect tokens are computed once per image.
class PromptTask : public TrainTask {
 public:
  PromptTask(EmotionModel& model, ImageFeatures& images, std::vector<EmotionSample> samples, PromptTaskOptions options = {});
  std::string stage() const override { return "prompt"; }
  int64_t num_samples() const override { return static_cast<int64_t>(samples_.size()); }
  NamedTensors trainable() override { return {{"soft_prompt", prompt_}}; }
  NamedTensors checkpoint_tensors() override;
  LossSum loss_sum(const std::vector<int64_t>& samples, int64_t epoch) override;
  SequenceBatch batch(const std::vector<int64_t>& samples);

 private:
  torch::Tensor aspect_tokens_of(const std::vector<int64_t>& images, const torch::Tensor& visual);
  EmotionModel& model_;
  ImageFeatures& images_;
  std::vector<EmotionSample> samples_;
  torch::Tensor aspect_cache_;  // [N, A·Q, D] when images are cached and the model has aspects
  bool use_prefix_cache_;
  torch::Tensor prompt_;        // what trains: the model's soft prompt, or options.prompt
  LossReduction reduction_;
  std::vector<SequenceSpec> specs(const std::vector<int64_t>& samples);
};

}  // namespace emotune
