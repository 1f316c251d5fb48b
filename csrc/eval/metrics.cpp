#include "eval/metrics.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "core/error.h"

namespace emotune {

namespace {
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
}  // namespace

// Around the wheel: the four positive emotions from high to low arousal, then the four negative ones from
// low to high arousal, so that the circle closes between fear and excitement (both high arousal). The
// positive/negative halves follow Mikels et al. (2005); docs/metrics.md.
EmotionWheel EmotionWheel::mikels() {
  return {{"excitement", "amusement", "contentment", "awe", "sadness", "disgust", "anger", "fear"}};
}

int64_t EmotionWheel::position(const std::string& label) const {
  static const std::map<std::string, std::string> synonyms{{"sad", "sadness"}, {"content", "contentment"}};
  auto it = synonyms.find(label);
  const std::string& name = it == synonyms.end() ? label : it->second;
  auto p = std::find(order.begin(), order.end(), name);
  return p == order.end() ? -1 : p - order.begin();
}

int64_t EmotionWheel::distance(int64_t a, int64_t b) const {
  const int64_t n = static_cast<int64_t>(order.size()), d = std::abs(a - b);
  return std::min(d, n - d);
}

ClassificationMetrics compute_metrics(const std::vector<int64_t>& gold, const std::vector<int64_t>& pred, int64_t classes,
                                      const std::vector<std::string>& labels, const EmotionWheel& wheel) {
  if (gold.size() != pred.size()) raise("internal: ", gold.size(), " gold labels but ", pred.size(), " predictions");
  const auto k = static_cast<size_t>(classes);
  ClassificationMetrics m;
  m.class_total.assign(k, 0);
  m.class_correct.assign(k, 0);
  m.class_predicted.assign(k, 0);
  m.confusion.assign(k, std::vector<int64_t>(k + 1, 0));
  for (size_t i = 0; i < gold.size(); ++i) {
    auto g = static_cast<size_t>(gold[i]);
    bool matched = pred[i] >= 0;
    m.total++;
    m.class_total[g]++;
    m.confusion[g][matched ? static_cast<size_t>(pred[i]) : k]++;
    if (matched) m.class_predicted[static_cast<size_t>(pred[i])]++;
    else m.unmatched++;
    if (matched && pred[i] == gold[i]) m.correct++, m.class_correct[g]++;
  }
  m.accuracy = ratio(static_cast<double>(m.correct), static_cast<double>(m.total));
  int64_t present = 0;
  for (size_t c = 0; c < k; ++c) {
    double recall = ratio(static_cast<double>(m.class_correct[c]), static_cast<double>(m.class_total[c]));
    double precision = ratio(static_cast<double>(m.class_correct[c]), static_cast<double>(m.class_predicted[c]));
    m.class_accuracy.push_back(recall);
    m.class_precision.push_back(precision);
    m.class_f1.push_back(ratio(2 * precision * recall, precision + recall));
    if (m.class_total[c] || m.class_predicted[c]) present++, m.macro_f1 += m.class_f1.back();
  }
  m.macro_f1 = ratio(m.macro_f1, static_cast<double>(present));

  std::vector<int64_t> position;
  for (const auto& l : labels) position.push_back(wheel.position(l));
  if (!labels.empty() && std::none_of(position.begin(), position.end(), [](int64_t p) { return p < 0; }) && m.total) {
    // Eq. in docs/metrics.md §"Emotion-distance metrics".
    WheelMetrics w;
    const double d_max = static_cast<double>(wheel.max_distance());
    const int64_t half = static_cast<int64_t>(wheel.order.size()) / 2;
    double mistakes = 0;
    for (size_t i = 0; i < gold.size(); ++i) {
      int64_t g = position[static_cast<size_t>(gold[i])];
      double d = pred[i] < 0 ? d_max : static_cast<double>(wheel.distance(g, position[static_cast<size_t>(pred[i])]));
      w.mean_distance += d;
      w.ecc += 1.0 - d / d_max;
      if (pred[i] != gold[i]) w.emc += d / d_max, mistakes++;
      if (pred[i] >= 0 && (g < half) == (position[static_cast<size_t>(pred[i])] < half)) w.polarity_accuracy++;
    }
    const double n = static_cast<double>(m.total);
    w.mean_distance /= n, w.ecc /= n, w.polarity_accuracy /= n;
    w.emc = ratio(w.emc, mistakes);
    m.wheel = w;
  }
  return m;
}

nlohmann::json ClassificationMetrics::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t c = 0; c < labels.size(); ++c)
    per_class[labels[c]] = {{"total", class_total[c]},        {"correct", class_correct[c]}, {"predicted", class_predicted[c]},
                            {"accuracy", class_accuracy[c]},  {"recall", class_accuracy[c]}, {"precision", class_precision[c]},
                            {"f1", class_f1[c]}};
  nlohmann::json j = {{"total", total},       {"correct", correct}, {"accuracy", accuracy}, {"macro_f1", macro_f1},
                      {"unmatched", unmatched}, {"per_class", per_class}, {"labels", labels}, {"confusion", confusion}};
  if (wheel)
    j["emotion_wheel"] = {{"mean_distance", wheel->mean_distance}, {"ecc", wheel->ecc}, {"emc", wheel->emc},
                          {"polarity_accuracy", wheel->polarity_accuracy}};
  return j;
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

nlohmann::json dimension_errors(const torch::Tensor& predicted, const torch::Tensor& gold, const std::vector<std::string>& names,
                                const torch::Tensor& baseline) {
  auto p = predicted.to(torch::kFloat64), g = gold.to(torch::kFloat64), b = baseline.to(torch::kFloat64);
  nlohmann::json j = nlohmann::json::object();
  for (size_t d = 0; d < names.size(); ++d) {
    auto pd = p.select(1, static_cast<int64_t>(d)), gd = g.select(1, static_cast<int64_t>(d));
    auto pc = pd - pd.mean(), gc = gd - gd.mean();
    const double denominator = std::sqrt(pc.pow(2).sum().item<double>() * gc.pow(2).sum().item<double>());
    j[names[d]] = {{"items", gd.size(0)},
                   {"mse", (pd - gd).pow(2).mean().item<double>()},
                   {"mae", (pd - gd).abs().mean().item<double>()},
                   // undefined (null) when either side is constant
                   {"pearson", denominator > 0 ? nlohmann::json((pc * gc).sum().item<double>() / denominator) : nlohmann::json()},
                   {"baseline_mse", (gd - b[static_cast<int64_t>(d)]).pow(2).mean().item<double>()}};
  }
  return j;
}

}  // namespace emotune
