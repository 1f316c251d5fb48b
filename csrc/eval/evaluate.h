// Evaluation of a stage-2 predictor on a split (emotion accuracy) and of stage-1 aspect modules (exact match
// of each aspect's generated answer), with the outputs written to a directory.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "eval/metrics.h"
#include "eval/sepm_inference.h"
#include "masp/emotion_model.h"
#include "masp/image_features.h"
#include "masp/samples.h"

namespace emotune {

class Communicator;

struct EvalOptions {
  EvalMode mode = EvalMode::Rank;
  int64_t batch_size = 16;
  int64_t max_new_tokens = 8;
  bool show_progress = true;
  // The ranks that share the work: batch b is scored by rank b mod size, and every rank ends with every result (in
  // the one-process order, so the metrics are the same to the last digit); nullptr: world() (dist/communicator.h).
  Communicator* group = nullptr;
  // eval.inference: sepm runs SEPM's two passes (eval/sepm_inference.h) with these settings; `mode` then says how
  // the fine answer is read.
  Inference inference = Inference::Plain;
  SepmOptions sepm = {};
};
// eval.mode, eval.batch_size and eval.max_new_tokens, with a progress bar.
EvalOptions eval_options(const EmotuneConfig& config);

struct EmotionPrediction {
  int64_t image = 0, gold = 0, predicted = -1;
  std::string text;            // generated text (generate mode) or the winning label (rank mode)
  std::vector<float> scores;   // rank mode: log-likelihood per label (SEPM: log p of each option's letter)
  nlohmann::json sepm;         // SEPM's trace (SepmTrace::to_json); null under plain inference
};

// A rank-mode prediction's distribution over the labels: the softmax of its label log-likelihoods (empty when it has
// none: generate mode). What predictions.jsonl writes as `probabilities` and Lantern's vanilla file holds.
std::vector<double> label_distribution(const EmotionPrediction& prediction);

// A dimension head's ratings of an evaluation's images (eval.dimension_head; dimensions/dimension_head.h).
struct DimensionScores {
  std::vector<std::string> names;
  torch::Tensor values;    // [N, D], one row per prediction, in their order
  torch::Tensor baseline;  // [D]: the head's training mean, the reference error of metrics.json
};

struct EmotionEvaluation {
  std::vector<EmotionPrediction> predictions;
  ClassificationMetrics metrics;
  DimensionScores dimensions;  // names empty: no dimension head
};

// `sample_prompts`, when given, holds one soft prompt per sample (undefined: the model's): sequences of
// different users share forward batches, each with its own prompt.
EmotionEvaluation evaluate_emotions(EmotionModel& model, ImageFeatures& images, const std::vector<EmotionSample>& samples,
                                    const EvalOptions& options, const std::vector<torch::Tensor>& sample_prompts = {});
// metrics.json, confusion.csv, predictions.jsonl (by rank 0 alone in a distributed run; in rank mode each line also
// holds `probabilities`, the softmax of the label log-likelihoods). With dimension scores, each line holds
// `dimensions` and metrics.json their errors over the images whose manifest rows carry the ratings. Under SEPM, metrics.json
// also sums its traces ("sepm": the confident share, the coarse polarity's accuracy, invalid answers, tokens dropped).
void write_emotion_evaluation(const std::string& dir, const EmotionEvaluation& evaluation, const EmotionModel& model,
                              const ImageFeatures& images, const nlohmann::json& context);

struct AspectEvaluation {
  std::vector<std::string> aspects;  // as in the config's masp.aspects
  std::vector<int64_t> total, correct;
  nlohmann::json to_json() const;
};
// Generates each sample's aspect answer with the first question template and compares it exactly. With
// aspect modules, the image span holds z_i (stage 1's layout); with none (nullptr), it holds V_global: the
// bundle's own plain-prompting accuracy.
AspectEvaluation evaluate_aspects(FrozenVLM& vlm, const SequenceBuilder& builder, const AspectModulesImpl* modules,
                                  ImageFeatures& images, const std::vector<AspectSample>& samples,
                                  const std::vector<std::vector<std::string>>& questions, const EvalOptions& options,
                                  const std::vector<std::string>& aspect_names);

}  // namespace emotune
