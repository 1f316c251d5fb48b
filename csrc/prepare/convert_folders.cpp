// Datasets whose label is in a file's place: FI (class folders, or a flat folder with the class as the
// filename prefix before '_'), ArtPhoto (flat, prefix before the first '_'), and plain image folders
// (split/class/*.jpg as FER-2013, or class/*.jpg). None of FI, ArtPhoto or class-only folders has an official
// split: prepare computes a stratified one.
#include <filesystem>

#include "core/error.h"
#include "prepare/converters.h"
#include "prepare/label_table.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
// The sub-folders of `dir`, except prepare's own output folder when the user put it inside the dataset.
std::vector<std::string> subdirectories(const std::string& dir, const std::string& out_dir) {
  std::vector<std::string> out;
  const auto skip = fs::absolute(out_dir).lexically_normal();
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::absolute(e.path()).lexically_normal() != skip) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void require_directory(const std::string& dir, const std::string& what) {
  if (!fs::is_directory(dir)) raise(dir, ": not a directory (expected ", what, ")");
}

PreparedRow row_for(const std::string& image, const std::string& label, const std::string& root) {
  PreparedRow r;
  r.image = fs::path(image).lexically_normal().string();
  r.label = label;
  r.key = relative_to(r.image, root);
  r.source = r.image;
  return r;
}

// Flat folder: the label is the filename's prefix before the first '_'.
void add_prefixed(PreparedDataset& d, const std::string& dir, const std::string& root, const LabelTable& table) {
  for (const auto& image : list_images(dir)) {
    auto name = fs::path(image).filename().string();
    auto cut = name.find('_');
    if (cut == std::string::npos) raise(image, ": expected '<label>_<name>' (the label is the filename prefix before '_')");
    d.rows.push_back(row_for(image, table.normalise(name.substr(0, cut), image), root));
  }
}
}  // namespace

PreparedDataset convert_fi(const PrepareOptions& o) {
  require_directory(o.root, "FI's class folders or its flat image folder");
  PreparedDataset d;
  d.name = "fi";
  d.split_strategy = "stratified";
  LabelTable table = mikels_labels();
  d.labels = table.labels;
  // Flat when the root itself holds images; class folders otherwise.
  if (!list_images(o.root).empty()) {
    add_prefixed(d, o.root, o.root, table);
  } else {
    for (const auto& c : subdirectories(o.root, o.out)) {
      auto dir = (fs::path(o.root) / c).string();
      auto label = table.normalise(c, dir);
      for (const auto& image : list_images(dir)) d.rows.push_back(row_for(image, label, o.root));
    }
  }
  if (d.rows.empty()) raise(o.root, ": no FI images found");
  return d;
}

PreparedDataset convert_artphoto(const PrepareOptions& o) {
  std::string dir = fs::is_directory(fs::path(o.root) / "testImages_artphoto") ? (fs::path(o.root) / "testImages_artphoto").string() : o.root;
  require_directory(dir, "ArtPhoto's testImages_artphoto folder");
  PreparedDataset d;
  d.name = "artphoto";
  d.split_strategy = "stratified";
  LabelTable table = mikels_labels();
  d.labels = table.labels;
  add_prefixed(d, dir, o.root, table);
  if (d.rows.empty()) raise(dir, ": no ArtPhoto images found");
  return d;
}

PreparedDataset convert_image_folders(const PrepareOptions& o) {
  require_directory(o.root, "split/class/*.jpg or class/*.jpg folders");
  PreparedDataset d;
  d.name = "folder";
  auto top = subdirectories(o.root, o.out);
  if (top.empty()) raise(o.root, ": no class folders");
  // split/class/*.jpg when the top-level folders hold folders themselves.
  bool with_splits = !subdirectories((fs::path(o.root) / top[0]).string(), o.out).empty();
  std::vector<std::pair<std::string, std::string>> class_dirs;  // (split, dir)
  for (const auto& t : top) {
    if (with_splits)
      for (const auto& c : subdirectories((fs::path(o.root) / t).string(), o.out)) class_dirs.emplace_back(t, (fs::path(o.root) / t / c).string());
    else
      class_dirs.emplace_back("", (fs::path(o.root) / t).string());
  }
  LabelTable table;
  std::map<std::string, std::string> label_map;
  if (!o.label_map.empty()) label_map = load_label_map(o.label_map);
  if (!o.labels.empty()) {
    table = plain_labels(o.labels);
  } else if (!label_map.empty()) {
    std::vector<std::string> targets;
    for (const auto& [from, to] : label_map) targets.push_back(to);
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    table = plain_labels(targets);
  } else {
    std::vector<std::string> names;
    for (const auto& [split, dir] : class_dirs) names.push_back(lower_trimmed(fs::path(dir).filename().string()));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    table = plain_labels(names);
  }
  table.synonyms = label_map;
  d.labels = table.labels;
  d.split_strategy = with_splits ? "official" : "stratified";
  for (const auto& [split, dir] : class_dirs) {
    auto label = table.normalise(fs::path(dir).filename().string(), dir);
    for (const auto& image : list_images(dir)) {
      auto r = row_for(image, label, o.root);
      r.split = split;
      d.rows.push_back(std::move(r));
    }
  }
  if (d.rows.empty()) raise(o.root, ": no images in the class folders");
  return d;
}

// FER-2013 as it is distributed in folders (train/ and test/ with angry, disgust, fear, happy, neutral, sad,
// surprise): the folder converter with the dataset's own label order (0 angry … 6 neutral, the order of the
// original fer2013.csv) unless prepare.labels says otherwise.
PreparedDataset convert_fer2013(const PrepareOptions& o) {
  PrepareOptions fer = o;
  if (fer.labels.empty()) fer.labels = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
  auto d = convert_image_folders(fer);
  d.name = "fer2013";
  return d;
}

}  // namespace emotune
