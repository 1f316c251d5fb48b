#include "lantern/refine_prompt.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "core/text.h"

namespace emotune {

namespace {

std::string number(double v, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// "happy 0.62, neutral 0.21, sad 0.09; valence 3.10, arousal 2.40"
std::string reference(const SequenceItem& item, const RefinePromptOptions& o) {
  if (item.probabilities.size() != o.labels.size())
    raise("Lantern: an item has ", item.probabilities.size(), " probabilities for ", o.labels.size(), " labels");
  std::vector<size_t> order(o.labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return item.probabilities[a] > item.probabilities[b]; });
  std::string out;
  for (size_t r = 0; r < std::min<size_t>(order.size(), static_cast<size_t>(o.top_k)); ++r)
    out += (out.empty() ? "" : ", ") + o.labels[order[r]] + " " + number(item.probabilities[order[r]], 2);
  if (!item.dimensions.empty()) {
    if (item.dimensions.size() != o.dimensions.size())
      raise("Lantern: an item has ", item.dimensions.size(), " dimension scores for ", o.dimensions.size(), " dimensions");
    for (size_t d = 0; d < o.dimensions.size(); ++d) out += (d == 0 ? "; " : ", ") + o.dimensions[d] + " " + number(item.dimensions[d], 2);
  }
  return out;
}

}  // namespace

nlohmann::json refine_messages(const std::string& sequence_id, const std::vector<SequenceItem>& items, const ReceptiveField& field,
                               const RefinePromptOptions& o) {
  if (field.start < 0 || field.end > static_cast<int64_t>(items.size()) || field.start >= field.end)
    raise("internal: field [", field.start, ", ", field.end, ") of a sequence of ", items.size(), " items");
  const int64_t n = field.end - field.start;
  std::string example;
  for (size_t k = 0; k < o.labels.size(); ++k) example += (k ? ", \"" : "\"") + o.labels[k] + "\": " + (k ? "0.0" : "1.0");
  std::string user = "Below are " + o.item + "s " + std::to_string(field.start + 1) + " to " + std::to_string(field.end) + " of the " +
                     std::to_string(items.size()) + " of " + o.sequence + " \"" + sequence_id + "\", in order. For each, a trained model's emotion prediction is given as a reference: its " +
                     std::to_string(o.top_k) + " most likely labels with their probabilities" +
                     (o.dimensions.empty() ? "" : ", and its " + joined(o.dimensions) + " scores") +
                     ". The model saw each " + o.item + " alone; you see them in context.\n\nLabels: " + joined(o.labels) + "\n\n";
  for (int64_t i = field.start; i < field.end; ++i) {
    const auto& item = items[static_cast<size_t>(i)];
    user += std::to_string(i - field.start + 1) + ". ";
    if (!item.speaker.empty()) user += "[" + item.speaker + "] ";
    if (!item.text.empty()) user += "\"" + item.text + "\" ";
    user += "(reference: " + reference(item, o) + ")\n";
  }
  user += "\nFor every " + o.item + " 1 to " + std::to_string(n) + ", give your probability of each label, summing to 1. Answer with JSON only:\n" +
          "{\"items\": [{\"index\": 1, \"probabilities\": {" + example + "}}, ...]}";
  return nlohmann::json::array({{{"role", "system"}, {"content", "You are an expert in affective computing who reads emotions in context."}},
                                {{"role", "user"}, {"content", user}}});
}

}  // namespace emotune
