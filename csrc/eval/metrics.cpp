#include "eval/metrics.h"

#include <sstream>

#include "core/error.h"

namespace emotune {

ClassificationMetrics compute_metrics(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t classes) {
  if (gold.size() != pred.size()) raise("internal: ", gold.size(), " gold labels but ", pred.size(), " predictions");
  ClassificationMetrics m;
  m.class_total.assign(static_cast<size_t>(classes), 0);
  m.class_correct.assign(static_cast<size_t>(classes), 0);
  m.confusion.assign(static_cast<size_t>(classes), std::vector<int64_t>(static_cast<size_t>(classes + 1), 0));
  for (size_t i = 0; i < gold.size(); ++i) {
    auto g = static_cast<size_t>(gold[i]);
    bool matched = pred[i] >= 0;
    m.total++;
    m.class_total[g]++;
    m.confusion[g][matched ? static_cast<size_t>(pred[i]) : static_cast<size_t>(classes)]++;
    if (!matched) m.unmatched++;
    if (matched && pred[i] == gold[i]) m.correct++, m.class_correct[g]++;
  }
  m.accuracy = m.total ? static_cast<double>(m.correct) / static_cast<double>(m.total) : 0.0;
  for (size_t c = 0; c < static_cast<size_t>(classes); ++c)
    m.class_accuracy.push_back(m.class_total[c] ? static_cast<double>(m.class_correct[c]) / static_cast<double>(m.class_total[c]) : 0.0);
  return m;
}

nlohmann::json ClassificationMetrics::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t c = 0; c < labels.size(); ++c)
    per_class[labels[c]] = {{"total", class_total[c]}, {"correct", class_correct[c]}, {"accuracy", class_accuracy[c]}};
  return {{"total", total}, {"correct", correct}, {"accuracy", accuracy}, {"unmatched", unmatched},
          {"per_class", per_class}, {"labels", labels}, {"confusion", confusion}};
}

std::string ClassificationMetrics::confusion_csv(const std::vector<std::string>& labels) const {
  std::ostringstream out;
  out << "gold\\predicted";
  for (const auto& l : labels) out << "," << l;
  out << ",(no label)\n";
  for (size_t g = 0; g < labels.size(); ++g) {
    out << labels[g];
    for (auto v : confusion[g]) out << "," << v;
    out << "\n";
  }
  return out.str();
}

}  // namespace emotune
