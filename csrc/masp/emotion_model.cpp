#include "masp/emotion_model.h"

#include <torch/torch.h>

namespace emotune {

torch::Tensor EmotionModel::aspect_tokens(const torch::Tensor& visual) const {
  if (!aspects) return torch::Tensor();
  torch::NoGradGuard no_grad;
  return aspects->forward_all(visual);
}

torch::Tensor aspect_tokens_of_split(const EmotionModel& model, ImageFeatures& images) {
  if (!model.aspects) return torch::Tensor();
  std::vector<torch::Tensor> parts;
  for (int64_t lo = 0; lo < images.size(); lo += 16) {
    std::vector<int64_t> chunk;
    for (int64_t i = lo; i < std::min(images.size(), lo + 16); ++i) chunk.push_back(i);
    parts.push_back(model.aspect_tokens(images.visual(chunk)));
  }
  return torch::cat(parts, 0);
}

SequenceSpec EmotionModel::spec(const torch::Tensor& visual, const torch::Tensor& aspect_tokens,
                                const std::string* answer, const torch::Tensor& prompt) const {
  return builder->image_question(aspect_tokens, visual, prompt.defined() ? prompt : soft_prompt, question, answer);
}

}  // namespace emotune
