#include "prepare/prepare_dataset.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "config/did_you_mean.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "prepare/cross_split_duplicates.h"
#include "prepare/converters.h"
#include "prepare/split_assignment.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
struct Converter {
  std::function<PreparedDataset(const PrepareOptions&)> convert;
  std::vector<double> default_ratios;  // for computed splits
};

// Customary splits where the dataset has no official one: FI 80/5/15 (the seeded random split most papers
// use), Emotion6 80/20, the others 80/10/10 or 80/20 (docs/datasets.md).
const std::map<std::string, Converter>& converters() {
  static const std::map<std::string, Converter> m{
      {"emoset", {convert_emoset, {}}},
      {"fi", {convert_fi, {0.8, 0.05, 0.15}}},
      {"emotion6", {convert_emotion6, {0.8, 0.0, 0.2}}},
      {"flickr", {convert_katsurai, {0.8, 0.1, 0.1}}},
      {"instagram", {convert_katsurai, {0.8, 0.1, 0.1}}},
      {"abstract", {convert_abstract, {0.8, 0.0, 0.2}}},
      {"artphoto", {convert_artphoto, {0.8, 0.0, 0.2}}},
      {"webemo", {convert_webemo, {}}},
      {"affection", {convert_affection, {}}},
      {"folder", {convert_image_folders, {0.8, 0.1, 0.1}}},
      {"fer2013", {convert_fer2013, {0.8, 0.1, 0.1}}},
      {"fer", {convert_fer2013, {0.8, 0.1, 0.1}}},
  };
  return m;
}

std::string manifest_text(const PreparedDataset& d, const std::string& out) {
  std::vector<const PreparedRow*> rows;
  for (const auto& r : d.rows) rows.push_back(&r);
  std::sort(rows.begin(), rows.end(), [](const PreparedRow* a, const PreparedRow* b) { return a->key < b->key; });
  const auto base = fs::absolute(out).lexically_normal();
  std::string text;
  for (const auto* r : rows) {
    // Relative to the manifest when the images lie below it (the manifest moves with them), else absolute.
    auto image = fs::absolute(r->image).lexically_normal();
    auto relative = image.lexically_relative(base).generic_string();
    nlohmann::json j = {{"image", relative.rfind("..", 0) == 0 ? image.string() : relative},
                        {"label", r->label}, {"split", r->split}};
    if (!r->user.empty()) j["user"] = r->user;
    if (!r->aspects.empty()) j["aspects"] = r->aspects;
    if (!r->distribution.is_null()) j["distribution"] = r->distribution;
    if (!r->meta.is_null()) j["meta"] = r->meta;
    if (!r->dimensions.is_null()) j["dimensions"] = r->dimensions;
    text += j.dump() + "\n";
  }
  return text;
}

nlohmann::json summary_of(const PreparedDataset& d, const PrepareOptions& o) {
  std::map<std::string, std::map<std::string, int64_t>> counts;
  std::set<std::string> users;
  for (const auto& r : d.rows) {
    counts[r.split][r.label]++;
    if (!r.user.empty()) users.insert(r.user);
  }
  nlohmann::json splits = nlohmann::json::object();
  for (const auto& [split, per_label] : counts) {
    int64_t total = 0;
    for (const auto& [l, n] : per_label) total += n;
    splits[split] = {{"images", total}, {"per_label", per_label}};
  }
  return {{"dataset", d.name}, {"root", fs::absolute(o.root).lexically_normal().string()}, {"labels", d.labels},
          {"rows", d.rows.size()}, {"users", users.size()}, {"split_strategy", d.split_strategy}, {"splits", splits},
          {"dropped", d.dropped}, {"notes", d.notes}, {"warnings", d.warnings},
          {"cross_split_duplicates", d.cross_split_duplicates}};
}

const char* const kSplitNames[] = {"train", "val", "test"};

// Byte-identical images in different splits (prepare/cross_split_duplicates.h): every pair in prepare.json.
void note_cross_split_duplicates(PreparedDataset& d) {
  const auto pairs = find_cross_split_duplicates(d.rows);
  if (pairs.empty()) return;
  std::map<std::string, int64_t> per_splits;
  for (const auto& p : pairs) {
    d.cross_split_duplicates.push_back({{"image", p.first}, {"split", p.first_split}, {"copy", p.second}, {"copy_split", p.second_split}});
    per_splits[p.first_split < p.second_split ? p.first_split + "/" + p.second_split : p.second_split + "/" + p.first_split]++;
  }
  std::string counts;
  for (const auto& [splits, n] : per_splits) counts += concat(counts.empty() ? "" : ", ", n, " ", splits);
  d.warnings.push_back(concat(pairs.size(), " pair(s) of byte-identical images lie in different splits (", counts,
                              "): an evaluated image may also have been trained on; the pairs are in prepare.json "
                              "(cross_split_duplicates)"));
}

// A computed split asked for (ratio > 0) that received no image: too few images per label (or user) for the
// ratios. Said in prepare.json and on stderr; evaluating on it is an error naming it (open_split).
void warn_of_empty_splits(PreparedDataset& d) {
  for (size_t k = 0; k < d.split_ratios.size() && k < 3; ++k) {
    if (d.split_ratios[k] <= 0) continue;
    const std::string split = kSplitNames[k];
    if (std::any_of(d.rows.begin(), d.rows.end(), [&](const PreparedRow& r) { return r.split == split; })) continue;
    d.warnings.push_back(concat("split '", split, "' is empty: ", d.rows.size(), " images cut by ", d.split_strategy == "per_user" ? "user" : "label",
                                " at ", nlohmann::json(d.split_ratios).dump(), " left it none (set prepare.split_ratios, or use more images)"));
  }
}

// The split dataset.yaml evaluates on: test when there is one (computed: when asked for, even if it came out
// empty, so that evaluating it fails loudly instead of quietly using another split).
std::string eval_split_of(const PreparedDataset& d, const std::set<std::string>& splits) {
  if (d.split_ratios.size() == 3)
    return d.split_ratios[2] > 0 ? "test" : d.split_ratios[1] > 0 ? "val" : "train";
  return splits.count("test") ? "test" : *splits.rbegin();
}
}  // namespace

const std::vector<std::string>& preparable_datasets() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, c] : converters()) v.push_back(name);
    return v;
  }();
  return names;
}

PrepareOptions prepare_options(const std::string& dataset, const std::string& root, const std::string& out, const PrepareConfig& c) {
  PrepareOptions o;
  o.dataset = dataset;
  o.root = root;
  o.out = out;
  o.seed = static_cast<uint64_t>(c.seed);
  o.split_ratios = c.split_ratios;
  o.csv = c.csv;
  o.image_pattern = c.image_pattern;
  o.webemo_classes = c.webemo_classes;
  o.label_map = c.label_map;
  o.user_train_fraction = c.user_train_fraction;
  o.user_val_fraction = c.user_val_fraction;
  o.labels = c.labels;
  o.missing_images_are_errors = c.missing_images == "error";
  o.resplit = c.resplit;
  return o;
}

PreparedDataset prepare_dataset(const PrepareOptions& o) {
  auto it = converters().find(o.dataset);
  if (it == converters().end()) {
    auto hint = nearest(o.dataset, preparable_datasets());
    std::string known;
    for (const auto& n : preparable_datasets()) known += (known.empty() ? "" : ", ") + n;
    raise("prepare: unknown dataset '", o.dataset, "' (known: ", known, ")", hint.empty() ? "" : concat("; did you mean '", hint, "'?"),
          "; any dataset in class folders (ROOT/<class>/*.jpg or ROOT/<split>/<class>/*.jpg): 'folder'");
  }
  if (!fs::is_directory(o.root)) raise("prepare: dataset root '", o.root, "' is not a directory");
  PreparedDataset d = it->second.convert(o);
  if (d.rows.empty()) raise("prepare: ", o.root, " gave no usable rows for ", o.dataset);
  ensure_directory(o.out);
  assign_splits(d, o, it->second.default_ratios, (fs::path(o.out) / "splits.json").string());
  note_cross_split_duplicates(d);
  warn_of_empty_splits(d);
  for (const auto& w : d.warnings) std::fprintf(stderr, "prepare %s: warning: %s\n", d.name.c_str(), w.c_str());
  const auto manifest = fs::absolute(fs::path(o.out) / "manifest.jsonl").lexically_normal().string();
  write_file_atomic(manifest, manifest_text(d, o.out));
  std::set<std::string> splits;
  for (const auto& r : d.rows) splits.insert(r.split);
  std::string eval_split = eval_split_of(d, splits);
  std::string train_split = splits.count("train") ? "train" : *splits.begin();
  YAML::Emitter yaml;
  yaml << YAML::BeginMap << YAML::Key << "data" << YAML::Value << YAML::BeginMap << YAML::Key << "manifest" << YAML::Value
       << manifest << YAML::Key << "labels" << YAML::Value << YAML::Flow << d.labels << YAML::Key << "train_split"
       << YAML::Value << train_split << YAML::Key << "eval_split" << YAML::Value << eval_split << YAML::EndMap << YAML::EndMap;
  write_file_atomic((fs::path(o.out) / "dataset.yaml").string(),
                    concat("# ", d.name, ", written by emotune prepare from ", fs::absolute(o.root).lexically_normal().string(), "\n",
                           yaml.c_str(), "\n"));
  write_file_atomic((fs::path(o.out) / "prepare.json").string(), summary_of(d, o).dump(2) + "\n");
  return d;
}

}  // namespace emotune
