// What every dataset converter of `emotune prepare` produces before splits are assigned and the manifest is
// written: one row per (image, user) with its normalised label, the split the dataset's own files give (if
// any), the aspects (EmoSet) and what the source said (votes, distributions), plus a count of every row
// that was dropped and why. docs/datasets.md describes each converter.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace emotune {

struct PreparedRow {
  std::string image;   // absolute path
  std::string label;   // canonical label, one of PreparedDataset::labels
  std::string split;   // from official split files; empty: assigned by prepare
  std::string user;    // Affection: the worker id
  std::string source;  // "file:line" or the image path: where the row came from
  nlohmann::json aspects = nlohmann::json::object();
  nlohmann::json distribution;  // label -> probability/votes, where the dataset has them
  nlohmann::json meta;          // other per-image facts of the source (Affection's utterances, WEBEmo's URLs)
  nlohmann::json dimensions;    // continuous ratings by name (Emotion6's valence and arousal): the manifest's `dimensions`
  // Identifies the row in splits.json: the image path relative to the dataset root (plus the user).
  std::string key;
};

struct PreparedDataset {
  std::string name;
  std::vector<std::string> labels;  // canonical order
  std::vector<PreparedRow> rows;
  std::map<std::string, int64_t> dropped;  // reason -> count
  std::map<std::string, int64_t> notes;    // counted events that did not drop a row (e.g. folder aliases)
  std::string split_strategy = "official";  // official | stratified | per_user
  std::vector<double> split_ratios;          // [train, val, test] of computed splits; empty: official ones
  std::vector<std::string> warnings;         // what the user should know (prepare.json and stderr)
  nlohmann::json cross_split_duplicates = nlohmann::json::array();  // [{image, split, copy, copy_split}]
};

// Options of `emotune prepare`, from the config's prepare.* keys.
struct PrepareOptions {
  std::string dataset;  // emoset | fi | emotion6 | flickr | instagram | abstract | artphoto | webemo | affection | folder
  std::string root;
  std::string out;
  uint64_t seed = 3407;
  std::vector<double> split_ratios;  // train, val, test; empty: the dataset's customary split
  std::string csv;                   // the vote/ground-truth file, when not at its usual place
  std::string image_pattern;         // WEBEmo/Affection/Flickr: where an image lies, with {placeholders}
  int64_t webemo_classes = 25;       // 25 | 7 | 2
  std::string label_map;             // YAML file: source label -> target label (WEBEmo 7/2, folders)
  double user_train_fraction = 0.3;  // Affection: share of each user's images for training (paper 000 §IV-A)
  double user_val_fraction = 0.0;
  std::vector<std::string> labels;   // folder datasets: the label set (empty: the folder names)
  bool missing_images_are_errors = true;
  bool resplit = false;
};

}  // namespace emotune
