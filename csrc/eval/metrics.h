// Classification metrics of an evaluation: accuracy, per-class accuracy, confusion matrix.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace emotune {

struct ClassificationMetrics {
  int64_t total = 0, correct = 0, unmatched = 0;  // unmatched: generated text that is no label
  double accuracy = 0.0;
  std::vector<int64_t> class_total, class_correct;
  std::vector<double> class_accuracy;
  std::vector<std::vector<int64_t>> confusion;  // [gold][predicted]; predicted == num_classes: unmatched

  nlohmann::json to_json(const std::vector<std::string>& labels) const;
  std::string confusion_csv(const std::vector<std::string>& labels) const;
};

// pred[i] < 0 marks an answer that matched no label.
ClassificationMetrics compute_metrics(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t classes);

}  // namespace emotune
