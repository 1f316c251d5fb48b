#include "lantern/vanilla_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "core/error.h"

namespace emotune {

namespace {

struct Line {
  std::string where;
  nlohmann::json j;
};

std::string string_field(const Line& l, const char* key, bool required) {
  if (!l.j.contains(key)) {
    if (required) raise(l.where, ": no \"", key, "\" (expected a string)");
    return "";
  }
  if (!l.j[key].is_string()) raise(l.where, ": \"", key, "\" must be a string, got ", l.j[key].dump());
  return l.j[key].get<std::string>();
}

// The values of `key`, an object with exactly `names` as keys, in their order.
std::vector<double> named_numbers(const Line& l, const char* key, const std::vector<std::string>& names) {
  if (!l.j.contains(key) || !l.j[key].is_object()) raise(l.where, ": \"", key, "\" must be an object of ", names.size(), " numbers");
  const auto& o = l.j[key];
  std::vector<double> out;
  for (const auto& name : names) {
    if (!o.contains(name)) raise(l.where, ": \"", key, "\" has no '", name, "'");
    if (!o[name].is_number()) raise(l.where, ": \"", key, "\" '", name, "' must be a number, got ", o[name].dump());
    out.push_back(o[name].get<double>());
  }
  if (o.size() != names.size())
    for (const auto& [k, v] : o.items())
      if (std::find(names.begin(), names.end(), k) == names.end()) raise(l.where, ": \"", key, "\" has '", k, "', which is not one of them");
  return out;
}

SequenceItem item_of(const Line& l, const std::vector<std::string>& labels, const std::vector<std::string>& dimensions) {
  SequenceItem item;
  item.speaker = string_field(l, "speaker", false);
  item.text = string_field(l, "text", false);
  item.probabilities = named_numbers(l, "probabilities", labels);
  double sum = 0;
  for (double p : item.probabilities) {
    if (!(p >= 0) || !std::isfinite(p)) raise(l.where, ": a probability is ", p, " (expected >= 0)");
    sum += p;
  }
  if (std::abs(sum - 1) > 1e-3) raise(l.where, ": the probabilities sum to ", sum, " (expected 1: the vanilla model's distribution)");
  for (double& p : item.probabilities) p /= sum;
  if (!dimensions.empty()) item.dimensions = named_numbers(l, "dimensions", dimensions);
  return item;
}

}  // namespace

std::vector<VanillaSequence> read_vanilla_file(const std::string& path, const std::vector<std::string>& labels,
                                               const std::vector<std::string>& dimensions) {
  std::ifstream in(path);
  if (!in) raise("lantern.vanilla: cannot read '", path, "'");
  std::vector<VanillaSequence> out;
  std::map<std::string, size_t> at;                        // sequence id → out index
  std::map<std::string, std::map<int64_t, int64_t>> seen;  // sequence → index → line
  std::vector<std::map<int64_t, std::pair<SequenceItem, int64_t>>> by_index;
  std::string text;
  for (int64_t number = 1; std::getline(in, text); ++number) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    Line l{concat(path, ":", number), nlohmann::json::parse(text, nullptr, false)};
    if (l.j.is_discarded() || !l.j.is_object()) raise(l.where, ": not a JSON object");
    const auto id = string_field(l, "sequence", true), split = string_field(l, "split", true);
    if (!l.j.contains("index") || !l.j["index"].is_number_integer() || l.j["index"].get<int64_t>() < 0)
      raise(l.where, ": \"index\" must be an integer >= 0 (the item's place in its sequence)");
    const auto index = l.j["index"].get<int64_t>();
    int64_t gold = -1;
    if (l.j.contains("gold")) {
      const auto g = string_field(l, "gold", false);
      auto it = std::find(labels.begin(), labels.end(), g);
      if (it == labels.end()) raise(l.where, ": gold '", g, "' is not one of data.labels");
      gold = it - labels.begin();
    }
    auto [pos, fresh] = at.emplace(id, out.size());
    if (fresh) out.push_back({id, split, {}, {}, {}}), by_index.emplace_back();
    auto& sequence = out[pos->second];
    if (sequence.split != split)
      raise(l.where, ": sequence '", id, "' is in split '", split, "' here and '", sequence.split, "' on line ", seen[id].begin()->second);
    if (auto dup = seen[id].find(index); dup != seen[id].end())
      raise(l.where, ": sequence '", id, "' has index ", index, " twice (also line ", dup->second, ")");
    seen[id][index] = number;
    auto item = item_of(l, labels, dimensions);
    by_index[pos->second].emplace(index, std::make_pair(std::move(item), gold));
  }
  for (size_t s = 0; s < out.size(); ++s) {
    int64_t expected = 0;
    for (auto& [index, entry] : by_index[s]) {
      if (index != expected)
        raise(path, ": sequence '", out[s].id, "' has no index ", expected, " (its indices must run 0..n-1; line ", seen[out[s].id][index],
              " has ", index, ")");
      out[s].items.push_back(std::move(entry.first));
      out[s].gold.push_back(entry.second);
      out[s].lines.push_back(seen[out[s].id][index]);
      ++expected;
    }
  }
  if (out.empty()) raise(path, ": no items");
  return out;
}

}  // namespace emotune
