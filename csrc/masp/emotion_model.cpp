#include "masp/emotion_model.h"

#include <torch/torch.h>

namespace emotune {

torch::Tensor EmotionModel::aspect_tokens(const torch::Tensor& visual) const {
  if (!aspects) return torch::Tensor();
  torch::NoGradGuard no_grad;
  return aspects->forward_all(visual);
}

SequenceSpec EmotionModel::spec(const torch::Tensor& visual, const torch::Tensor& aspect_tokens,
                                const std::string* answer) const {
  return builder->image_question(aspect_tokens, visual, soft_prompt, question, answer);
}

}  // namespace emotune
