#include "dimensions/dimension_features.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "core/sha256.h"
#include "core/text.h"
#include "dimensions/dimension_head.h"
#include "personal/personal_head.h"

namespace emotune {

namespace {
bool wants(const std::vector<std::string>& inputs, const char* input) {
  return std::find(inputs.begin(), inputs.end(), input) != inputs.end();
}

// A rank-mode, plain evaluation keeps one log-likelihood per label in every prediction.
bool has_label_scores(const EmotionEvaluation& e, size_t labels) {
  for (const auto& p : e.predictions)
    if (p.scores.size() != labels || !p.sepm.is_null()) return false;
  return true;
}
}  // namespace

torch::Tensor dimension_features(const std::vector<std::string>& inputs, EmotionModel& model, ImageFeatures& images,
                                 const std::vector<EmotionSample>& samples, EvalOptions options,
                                 const EmotionEvaluation* ranked, const std::string& key) {
  std::vector<int64_t> image_ids;
  for (const auto& s : samples) image_ids.push_back(s.image);
  const auto rows = torch::tensor(image_ids, torch::kInt64);
  torch::Tensor aspect_tokens, label_scores;
  if (wants(inputs, "aspect_tokens")) {
    aspect_tokens = aspect_tokens_of_split(model, images);
    if (aspect_tokens.defined()) aspect_tokens = aspect_tokens.index_select(0, rows.to(aspect_tokens.device()));
  }
  if (wants(inputs, "label_scores")) {
    EmotionEvaluation own;
    if (!ranked || ranked->predictions.size() != samples.size() || !has_label_scores(*ranked, model.labels.size())) {
      options.mode = EvalMode::Rank, options.inference = Inference::Plain;
      own = evaluate_emotions(model, images, samples, options);
      ranked = &own;
    }
    std::vector<torch::Tensor> scores;
    for (const auto& p : ranked->predictions) scores.push_back(torch::tensor(p.scores));
    label_scores = torch::stack(scores);
  }
  return head_features(inputs, aspect_tokens, label_scores, key);
}

void check_dimension_head(const DimensionHead& head, const std::string& head_path, const std::string& checkpoint, const EmotionModel& model) {
  if (head.labels != model.labels)  // the label scores' columns would mean other labels
    raise(head_path, ": this dimension head was fitted on the label scores of [", joined(head.labels), "], and this model ranks [",
          joined(model.labels), "]; fit one with these labels");
  const std::string sha = checkpoint.empty() ? "" : sha256_of_file(checkpoint);
  if (sha != head.checkpoint_sha256)
    raise(head_path, ": this dimension head reads the features of ", head.checkpoint_sha256.empty() ? "the zero-shot VLM" : "the checkpoint with SHA-256 " + head.checkpoint_sha256,
          ", not of ", checkpoint.empty() ? std::string("the zero-shot VLM") : checkpoint + " (" + sha + ")",
          "; fit one on this checkpoint with emotune fit-dimensions --set eval.checkpoint=", checkpoint);
}

DimensionScores score_dimensions(const DimensionHead& head, const std::string& head_path, EmotionModel& model, ImageFeatures& images,
                                 const EmotionEvaluation& evaluation, const EvalOptions& options) {
  if (evaluation.predictions.empty()) return {head.names, torch::zeros({0, static_cast<int64_t>(head.names.size())}), head.targets.mean};
  std::vector<EmotionSample> samples;
  for (const auto& p : evaluation.predictions) samples.push_back({p.image, p.gold});
  auto x = dimension_features(head.inputs, model, images, samples, options, &evaluation, "the dimension head's inputs (" + head_path + ")");
  if (x.size(1) != head.features.mean.size(0))
    raise(head_path, ": the head reads ", head.features.mean.size(0), " features, this model gives ", x.size(1));
  return {head.names, head.predict(x), head.targets.mean};
}

}  // namespace emotune
