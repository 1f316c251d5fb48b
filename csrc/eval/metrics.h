// Classification metrics of an evaluation (docs/metrics.md): accuracy, per-class precision/recall/F1,
// macro-F1, the confusion matrix, and — when every label lies on Mikels' emotion wheel — the
// emotion-distance-aware metrics of the personalisation paper (paper 000, "Emotion Label Taxonomy"):
// mistakes between neighbouring emotions cost less than mistakes between opposite ones.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <optional>
#include <string>
#include <vector>

namespace emotune {

// Mikels' eight emotions around a wheel; the distance of two emotions is the number of steps between them
// the short way round (0..4).
struct EmotionWheel {
  std::vector<std::string> order;
  static EmotionWheel mikels();  // docs/metrics.md gives the order and why
  // Position of a label (sad/sadness, content/contentment accepted), or -1.
  int64_t position(const std::string& label) const;
  int64_t distance(int64_t a, int64_t b) const;  // positions
  int64_t max_distance() const { return static_cast<int64_t>(order.size()) / 2; }
};

struct WheelMetrics {
  double mean_distance = 0;  // (1/N) Σ d(gold, pred); an unmatched answer counts as max distance
  double ecc = 0;            // emotion-closeness credit: (1/N) Σ (1 - d/d_max); 1 = all exact, 0 = all opposite
  double emc = 0;            // emotion-mistake cost: mean d/d_max over the misclassified only (0 if none)
  double polarity_accuracy = 0;  // gold and prediction on the same side (positive/negative)
};

struct ClassificationMetrics {
  int64_t total = 0, correct = 0, unmatched = 0;  // unmatched: generated text that is no label
  double accuracy = 0.0;
  std::vector<int64_t> class_total, class_correct, class_predicted;
  std::vector<double> class_accuracy;  // = recall
  std::vector<double> class_precision, class_f1;
  double macro_f1 = 0.0;  // over the classes that occur in gold or predictions
  std::vector<std::vector<int64_t>> confusion;  // [gold][predicted]; predicted == num_classes: unmatched
  std::optional<WheelMetrics> wheel;

  nlohmann::json to_json(const std::vector<std::string>& labels) const;
  std::string confusion_csv(const std::vector<std::string>& labels) const;
};

// pred[i] < 0 marks an answer that matched no label. With labels that all lie on `wheel`, the wheel metrics
// are filled too.
ClassificationMetrics compute_metrics(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t classes,
                                      const std::vector<std::string>& labels = {},
                                      const EmotionWheel& wheel = EmotionWheel::mikels());

// Continuous ratings (a dimension head's valence, arousal, ...; predicted and gold [N, D]): per dimension the items,
// MSE, MAE, Pearson's r (null when either side is constant) and the MSE of always predicting `baseline` [D] (the
// training mean: what a head must beat).
nlohmann::json dimension_errors(const torch::Tensor& predicted, const torch::Tensor& gold, const std::vector<std::string>& names,
                                const torch::Tensor& baseline);

}  // namespace emotune
