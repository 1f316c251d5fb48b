// EmoSet-118K (and the affect world, which is written in the same layout): info.json, {train,val,test}.json
// split lists, image/<emotion>/<id>.jpg, annotation/<emotion>/<id>.json. Split entries are
// [emotion, id, image path, annotation path]; some releases have 3-item entries, which are read by what each
// item looks like (an image path, an annotation path, an emotion, an id), the missing annotation path derived
// from the image path. The six attributes become the row's aspects (stage-1 Q&A data, brightness and
// colorfulness binned at sample time: data/aspect_answer.h); an absent attribute is simply not an aspect.
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "prepare/converters.h"
#include "prepare/label_table.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
const char* kAttributes[] = {"brightness", "colorfulness", "scene", "object", "facial_expression", "human_action"};

nlohmann::json parse_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    raise(path, ": invalid JSON (", e.what(), ")");
  }
}

struct SplitEntry {
  std::string emotion, image, annotation;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

SplitEntry read_entry(const nlohmann::json& item, const std::string& where, const LabelTable& labels) {
  if (!item.is_array() || (item.size() != 3 && item.size() != 4))
    raise(where, ": expected an entry [emotion, image_id, image path, annotation path] (or a 3-item entry), got ", item.dump());
  SplitEntry e;
  for (const auto& cell : item) {
    std::string v = cell.is_string() ? cell.get<std::string>() : cell.dump();
    if (ends_with(lower_trimmed(v), ".json")) e.annotation = v;
    else if (is_image_file(v)) e.image = v;
    else if (e.emotion.empty() && labels.contains(v)) e.emotion = v;
  }
  if (e.image.empty() || e.emotion.empty()) raise(where, ": entry ", item.dump(), " has no image path or no emotion");
  if (e.annotation.empty()) {
    fs::path p(e.image);
    auto rel = p.lexically_relative("image");
    e.annotation = (fs::path("annotation") / (rel.empty() || rel.string().rfind("..", 0) == 0 ? p : rel)).replace_extension(".json").string();
  }
  return e;
}
}  // namespace

namespace {

// Where info.json keeps the emotion -> index map: public EmoSet loaders read two shapes, {"label2idx":
// {"emotion": {...}, "brightness": ...}} and {"emotion": {"label2idx": {...}}}; the affect world and early
// copies write {"label2idx": {"amusement": 0, ...}} (or "emotion2idx"). Anything else is an error: a silent
// fallback to the default order would mislabel every image whose index differs.
std::pair<std::string, nlohmann::json> emotion_index_map(const nlohmann::json& info, const std::string& path) {
  auto is_index_map = [](const nlohmann::json& j) {
    if (!j.is_object() || j.empty()) return false;
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!it.value().is_number_integer()) return false;
    return true;
  };
  auto at = [&](const char* a, const char* b) -> const nlohmann::json* {
    if (!info.is_object() || !info.contains(a) || !info[a].is_object()) return nullptr;
    if (!b) return &info[a];
    return info[a].contains(b) ? &info[a][b] : nullptr;
  };
  const std::vector<std::pair<const char*, const char*>> shapes{
      {"label2idx", "emotion"}, {"emotion", "label2idx"}, {"label2idx", nullptr}, {"emotion2idx", nullptr}};
  for (const auto& [a, b] : shapes)
    if (const auto* j = at(a, b); j && is_index_map(*j)) return {b ? concat(a, ".", b) : std::string(a), *j};
  raise(path, ": no emotion -> index map found (expected label2idx.emotion, emotion.label2idx, label2idx or "
        "emotion2idx, each an object of label name -> integer index)");
}

}  // namespace

PreparedDataset convert_emoset(const PrepareOptions& o) {
  PreparedDataset d;
  d.name = "emoset";
  LabelTable table = mikels_labels();
  auto info_path = fs::path(o.root) / "info.json";
  if (fs::exists(info_path)) {
    // info.json's emotion -> index map fixes the label order (issue 34, finding 6).
    auto info = parse_json_file(info_path.string());
    auto [key, map] = emotion_index_map(info, info_path.string());
    std::vector<std::pair<int64_t, std::string>> order;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it.value().is_number_integer()) raise(info_path.string(), ": ", key, "['", it.key(), "'] is not an integer index");
      order.emplace_back(it.value().get<int64_t>(), table.normalise(it.key(), info_path.string() + ": " + key));
    }
    std::sort(order.begin(), order.end());
    table.labels.clear();
    for (auto& [i, name] : order) table.labels.push_back(name);
  }
  d.labels = table.labels;
  int64_t found_splits = 0;
  for (const char* split : {"train", "val", "test"}) {
    auto path = (fs::path(o.root) / (std::string(split) + ".json")).string();
    if (!fs::exists(path)) continue;
    found_splits++;
    auto list = parse_json_file(path);
    if (!list.is_array()) raise(path, ": expected a JSON list of split entries");
    for (size_t i = 0; i < list.size(); ++i) {
      auto where = concat(path, ": entry ", i);
      auto e = read_entry(list[i], where, table);
      PreparedRow row;
      row.label = table.normalise(e.emotion, where);
      row.split = split;
      row.image = (fs::path(o.root) / e.image).lexically_normal().string();
      row.key = relative_to(row.image, o.root);
      row.source = where;
      auto ann_path = (fs::path(o.root) / e.annotation).string();
      if (fs::exists(ann_path)) {
        auto ann = parse_json_file(ann_path);
        for (const char* a : kAttributes) {
          if (!ann.contains(a) || ann[a].is_null()) {
            d.notes[concat("attribute '", a, "' absent")]++;
            continue;
          }
          const auto& v = ann[a];
          if (!v.is_number() && !v.is_string() && !v.is_array())
            raise(ann_path, ": attribute '", a, "' must be a number, a string or a list of strings");
          if (v.is_number() && (v.get<double>() < 0 || v.get<double>() > 1))
            raise(ann_path, ": attribute '", a, "' = ", v.dump(), " is outside [0, 1]");
          row.aspects[a] = v;
        }
        if (ann.contains("emotion") && ann["emotion"].is_string() && table.normalise(ann["emotion"].get<std::string>(), ann_path) != row.label)
          raise(ann_path, ": emotion '", ann["emotion"].get<std::string>(), "' disagrees with ", where, " ('", e.emotion, "')");
      } else {
        d.notes["annotation file missing (no aspects)"]++;
      }
      add_if_present(d, std::move(row), o);
    }
  }
  if (!found_splits) raise(o.root, ": no EmoSet split files (train.json, val.json, test.json)");
  return d;
}

}  // namespace emotune
