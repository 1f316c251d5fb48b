#include "lantern/refine_answer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "core/text.h"

namespace emotune {

namespace {

FieldRefinement invalid(std::string why) {
  FieldRefinement r;
  r.error = std::move(why);
  return r;
}

// One item's probabilities over `labels`, or the reason it has none.
bool read_item(const nlohmann::json& given, const std::vector<std::string>& labels, double tolerance, std::vector<double>& out,
               bool& rescaled, std::string& error) {
  if (!given.is_object()) return error = "its probabilities are not an object", false;
  out.assign(labels.size(), 0.0);
  std::vector<bool> given_once(labels.size(), false);
  for (const auto& [key, value] : given.items()) {
    const auto name = lower_trimmed(key);
    auto at = std::find_if(labels.begin(), labels.end(), [&](const std::string& l) { return lower_trimmed(l) == name; });
    if (at == labels.end()) return error = "label '" + key + "' is not one of the label set", false;
    if (given_once[static_cast<size_t>(at - labels.begin())]) return error = "label '" + *at + "' is given twice", false;
    given_once[static_cast<size_t>(at - labels.begin())] = true;
    if (!value.is_number()) return error = "the probability of '" + key + "' is not a number", false;
    const double p = value.get<double>();
    if (!(p >= 0) || !std::isfinite(p)) return error = "the probability of '" + key + "' is " + value.dump(), false;
    out[static_cast<size_t>(at - labels.begin())] += p;
  }
  double sum = 0;
  for (double p : out) sum += p;
  if (!(sum > 0)) return error = "its probabilities sum to 0", false;
  rescaled = std::abs(sum - 1) > tolerance;
  for (double& p : out) p /= sum;
  return true;
}

}  // namespace

FieldRefinement parse_refinement(const std::string& answer, int64_t items, const std::vector<std::string>& labels, double tolerance) {
  const auto open = answer.find('{'), close = answer.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return invalid("the answer holds no JSON object");
  auto j = nlohmann::json::parse(answer.substr(open, close - open + 1), nullptr, false);
  if (j.is_discarded()) return invalid("the answer's JSON does not parse");
  if (!j.contains("items") || !j["items"].is_array()) return invalid("the answer has no \"items\" array");
  FieldRefinement r;
  r.probabilities.assign(static_cast<size_t>(items), {});
  std::vector<bool> seen(static_cast<size_t>(items), false);
  for (const auto& entry : j["items"]) {
    if (!entry.is_object() || !entry.contains("index") || !entry["index"].is_number_integer())
      return invalid("an entry of \"items\" has no integer \"index\"");
    const auto index = entry["index"].get<int64_t>();
    if (index < 1 || index > items) return invalid("item " + std::to_string(index) + " is not one of 1.." + std::to_string(items));
    if (seen[static_cast<size_t>(index - 1)]) return invalid("item " + std::to_string(index) + " is given twice");
    seen[static_cast<size_t>(index - 1)] = true;
    bool rescaled = false;
    std::string error;
    if (!entry.contains("probabilities") ||
        !read_item(entry["probabilities"], labels, tolerance, r.probabilities[static_cast<size_t>(index - 1)], rescaled, error))
      return invalid("item " + std::to_string(index) + ": " + (error.empty() ? "no \"probabilities\"" : error));
    r.rescaled += rescaled;
  }
  for (int64_t i = 0; i < items; ++i)
    if (!seen[static_cast<size_t>(i)]) return invalid("item " + std::to_string(i + 1) + " is missing");
  r.valid = true;
  return r;
}

}  // namespace emotune
