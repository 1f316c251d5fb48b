#include "masp/tasks.h"

#include <torch/torch.h>

#include <map>

#include "core/rng.h"
#include "masp/answer_scoring.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

// V_global of the distinct images of a batch (in order of first use), and each sample's row in it.
struct BatchImages {
  std::vector<int64_t> images;
  torch::Tensor visual;
  std::vector<int64_t> row_of_sample;
};

template <typename Sample>
BatchImages gather_images(ImageFeatures& images, const std::vector<Sample>& all, const std::vector<int64_t>& samples) {
  std::map<int64_t, int64_t> row;
  BatchImages out;
  for (auto s : samples) {
    int64_t image = all.at(static_cast<size_t>(s)).image;
    auto [it, inserted] = row.emplace(image, static_cast<int64_t>(out.images.size()));
    if (inserted) out.images.push_back(image);
    out.row_of_sample.push_back(it->second);
  }
  out.visual = images.visual(out.images);
  return out;
}

}  // namespace

AspectTask::AspectTask(FrozenVLM& vlm, const SequenceBuilder& builder, AspectModules modules, ImageFeatures& images,
                       std::vector<AspectSample> samples, std::vector<std::vector<std::string>> questions, uint64_t seed,
                       LossReduction reduction)
    : vlm_(vlm), builder_(builder), modules_(modules), images_(images), samples_(std::move(samples)),
      questions_(std::move(questions)), seed_(seed), reduction_(reduction) {}

const std::string& AspectTask::question(int64_t index, int64_t epoch) const {
  const auto& templates = questions_.at(static_cast<size_t>(samples_.at(static_cast<size_t>(index)).aspect));
  if (epoch < 0) return templates.front();  // evaluation: the first template (reference protocol)
  auto draw = mix_seed(seed_, 0x51, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index)) % templates.size();
  return templates[draw];
}

SequenceBatch AspectTask::batch(const std::vector<int64_t>& samples, int64_t epoch) {
  auto images = gather_images(images_, samples_, samples);
  std::vector<SequenceSpec> specs;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples_[static_cast<size_t>(samples[i])];
    // Eq. 1: z_i from this aspect's module only, so only its parameters enter the graph.
    auto z = modules_->forward(s.aspect, images.visual.slice(0, images.row_of_sample[i], images.row_of_sample[i] + 1))[0];
    specs.push_back(builder_.aspect_question(z, question(samples[i], epoch), &s.answer));
  }
  return builder_.assemble(specs);
}

LossSum AspectTask::loss_sum(const std::vector<int64_t>& samples, int64_t epoch) {
  return score_answers(vlm_, batch(samples, epoch)).loss_sum(reduction_);
}

PromptTask::PromptTask(EmotionModel& model, ImageFeatures& images, std::vector<EmotionSample> samples, PromptTaskOptions options)
    : model_(model), images_(images), samples_(std::move(samples)), aspect_cache_(options.aspect_tokens),
      use_prefix_cache_(options.use_prefix_cache), prompt_(options.prompt.defined() ? options.prompt : model.soft_prompt),
      reduction_(options.reduction) {
  // Aspect tokens depend only on the image: computed once here, never per step.
  if (model_.aspects && images_.cached() && !aspect_cache_.defined()) aspect_cache_ = aspect_tokens_of_split(model_, images_);
}

NamedTensors PromptTask::checkpoint_tensors() {
  NamedTensors out{{"soft_prompt", prompt_}};
  if (model_.aspects) out.merge(model_.aspects->named_tensors());
  return out;
}

torch::Tensor PromptTask::aspect_tokens_of(const std::vector<int64_t>& images, const torch::Tensor& visual) {
  if (!model_.aspects) return torch::Tensor();
  if (aspect_cache_.defined()) return aspect_cache_.index({torch::tensor(images, torch::kInt64).to(aspect_cache_.device())});
  return model_.aspect_tokens(visual);
}

SequenceBatch PromptTask::batch(const std::vector<int64_t>& samples) { return model_.builder->assemble(specs(samples)); }

std::vector<SequenceSpec> PromptTask::specs(const std::vector<int64_t>& samples) {
  auto images = gather_images(images_, samples_, samples);
  auto aspect_tokens = aspect_tokens_of(images.images, images.visual);
  std::vector<SequenceSpec> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples_[static_cast<size_t>(samples[i])];
    int64_t r = images.row_of_sample[i];
    out.push_back(model_.spec(images.visual[r], aspect_tokens.defined() ? aspect_tokens[r] : torch::Tensor(),
                              &model_.labels.at(static_cast<size_t>(s.label)), prompt_));
  }
  return out;
}

LossSum PromptTask::loss_sum(const std::vector<int64_t>& samples, int64_t) {
  auto all = specs(samples);
  if (use_prefix_cache_ && model_.vlm->has_prefix_cache())
    if (auto split = model_.builder->assemble_split(all)) {
      auto prefix = model_.vlm->prefill(split->prefix.embeds.detach(), split->prefix.attention_mask,
                                        split->prefix.model_positions());
      return score_answers(*model_.vlm, split->rest, &prefix).loss_sum(reduction_);
    }
  return score_answers(*model_.vlm, model_.builder->assemble(all)).loss_sum(reduction_);
}

}  // namespace emotune
