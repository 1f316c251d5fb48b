#include "prepare/label_table.h"

#include <algorithm>
#include <cctype>

#include "config/did_you_mean.h"
#include "core/error.h"

namespace emotune {

bool LabelTable::contains(const std::string& raw) const {
  auto key = lower_trimmed(raw);
  return synonyms.count(key) || std::find(labels.begin(), labels.end(), key) != labels.end();
}

std::string LabelTable::normalise(const std::string& raw, const std::string& where) const {
  auto key = lower_trimmed(raw);
  if (std::find(labels.begin(), labels.end(), key) != labels.end()) return key;
  if (auto it = synonyms.find(key); it != synonyms.end()) return it->second;
  std::vector<std::string> known = labels;
  for (const auto& [k, v] : synonyms) known.push_back(k);
  std::string hint = nearest(key, known);
  std::string expected;
  for (const auto& l : labels) expected += (expected.empty() ? "" : ", ") + l;
  raise(where, ": label '", raw, "' is not in this dataset's label set (", expected, ")",
        hint.empty() ? "" : concat("; did you mean '", hint, "'?"));
}

LabelTable mikels_labels() {
  return {{"amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"},
          {{"amused", "amusement"}, {"content", "contentment"}, {"contented", "contentment"}, {"excited", "excitement"},
           {"angry", "anger"}, {"disgusted", "disgust"}, {"digust", "disgust"}, {"fearful", "fear"},
           {"scared", "fear"}, {"sad", "sadness"}}};
}

LabelTable emotion6_labels() {
  return {{"anger", "disgust", "fear", "joy", "sadness", "surprise"},
          {{"angry", "anger"}, {"digust", "disgust"}, {"disgusted", "disgust"}, {"fearful", "fear"}, {"happy", "joy"},
           {"happiness", "joy"}, {"sad", "sadness"}, {"surprised", "surprise"}}};
}

LabelTable binary_labels() { return {{"positive", "negative"}, {{"pos", "positive"}, {"neg", "negative"}}}; }

LabelTable artemis_labels() {
  LabelTable t = mikels_labels();
  t.labels.push_back("something else");
  t.synonyms["something_else"] = "something else";
  t.synonyms["something-else"] = "something else";
  return t;
}

LabelTable plain_labels(std::vector<std::string> labels) {
  for (auto& l : labels) l = lower_trimmed(l);
  return {std::move(labels), {}};
}

}  // namespace emotune

#include <yaml-cpp/yaml.h>

#include "config/schema.h"

namespace emotune {
std::map<std::string, std::string> load_label_map(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    raise(path, ": cannot read the label map (", e.what(), ")");
  }
  if (!root.IsMap()) raise(path, ": expected a mapping 'source label: target label'");
  std::map<std::string, std::string> out;
  for (const auto& kv : root) {
    if (!kv.second.IsScalar()) raise(where_of(kv.second, path), ": expected a target label for '", kv.first.as<std::string>(), "'");
    out[lower_trimmed(kv.first.as<std::string>())] = lower_trimmed(kv.second.as<std::string>());
  }
  return out;
}
}  // namespace emotune
