// The stage-2 predictor (paper Algorithm 1): frozen VLM, optional frozen aspect modules, optional soft prompt,
// and the emotion query listing the labels. Stage-2 training, evaluation, prediction and the ablations
// (V, V+A, V+S, V+A+rS, V+A+S) all build their sequences through it.
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "masp/aspect_modules.h"
#include "masp/image_features.h"
#include "masp/sequence.h"

namespace emotune {

class FrozenVLM;

struct EmotionModel {
  FrozenVLM* vlm = nullptr;
  std::unique_ptr<SequenceBuilder> builder;
  AspectModules aspects{nullptr};          // empty: no aspect tokens (V, V+S)
  torch::Tensor soft_prompt;               // undefined: no soft prompt (V, V+A)
  std::vector<std::string> labels;
  std::string question;                    // rendered, labels listed

  // Aspect tokens [n, A·Q, D] for V_global [n, T, D], without gradient (frozen in stage 2); undefined
  // when the model has no aspect modules. Depends on the image only, so callers compute it once per image.
  torch::Tensor aspect_tokens(const torch::Tensor& visual) const;
  // Eq. 4 for one image: visual [T, D], aspect_tokens [A·Q, D] or undefined. `prompt`, when defined, stands
  // in for the model's soft prompt (a user's own prompt; sequences of one batch may each have their own).
  SequenceSpec spec(const torch::Tensor& visual, const torch::Tensor& aspect_tokens, const std::string* answer,
                    const torch::Tensor& prompt = {}) const;
};

// Aspect tokens [N, A·Q, D] of every image of a split, in fixed chunks of 16 (so they do not depend on how
// later batches are composed); undefined when the model has no aspect modules.
torch::Tensor aspect_tokens_of_split(const EmotionModel& model, ImageFeatures& images);

}  // namespace emotune
