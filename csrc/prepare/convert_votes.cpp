// Datasets labelled by votes or probabilities in a table: Emotion6 (ground_truth.txt, tab-separated, label
// = argmax of the six emotion columns, the distribution kept), Flickr and Instagram (Katsurai & Satoh 2016:
// id, #positive, #neutral, #negative; label by majority of the three annotators, neutral dropped), Abstract
// (ABSTRACT_groundTruth.csv with single-quoted cells and integer votes; images whose top vote is tied are
// dropped and counted). None has an official split.
#include <filesystem>

#include "core/error.h"
#include "data/csv_table.h"
#include "prepare/converters.h"
#include "prepare/label_table.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
// Index of the largest value, or -1 when the largest is shared.
int64_t unique_argmax(const std::vector<double>& v) {
  auto best = std::max_element(v.begin(), v.end());
  if (std::count(v.begin(), v.end(), *best) > 1) return -1;
  return best - v.begin();
}

std::string only_csv_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && lower_trimmed(e.path().extension().string()) == ".csv") found.push_back(e.path().string());
  if (found.size() != 1)
    raise(dir, ": expected exactly one vote CSV (found ", found.size(), "); name it with prepare.csv");
  return found[0];
}
}  // namespace

PreparedDataset convert_emotion6(const PrepareOptions& o) {
  PreparedDataset d;
  d.name = "emotion6";
  d.split_strategy = "stratified";
  LabelTable table = emotion6_labels();
  d.labels = table.labels;
  std::string gt = o.csv.empty() ? find_existing(o.root, {"ground_truth.txt", "images/ground_truth.txt"}, "Emotion6 ground_truth.txt") : o.csv;
  std::string images = fs::is_directory(fs::path(o.root) / "images") ? (fs::path(o.root) / "images").string() : o.root;
  auto records = read_csv(gt, {'\t', '"'});
  static const char* kColumns[] = {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"};
  for (size_t i = 1; i < records.size(); ++i) {  // record 0 is the header
    const auto& r = records[i];
    auto where = concat(gt, ":", r.line);
    if (r.cells.size() < 10)
      raise(where, ": expected 10 tab-separated cells (filename, valence, arousal, 7 probabilities), got ", r.cells.size());
    std::vector<double> p;
    for (size_t k = 0; k < 7; ++k) p.push_back(parse_number(r.cells[3 + k], where));
    std::vector<double> emotions(p.begin(), p.begin() + 6);
    PreparedRow row;
    std::string file = trimmed(r.cells[0]);
    std::string folder = fs::path(file).parent_path().string();
    int64_t label = unique_argmax(emotions);
    if (label < 0) {
      // A shared maximum: the folder's emotion when it is among the tied, else the first tied column.
      auto best = *std::max_element(emotions.begin(), emotions.end());
      for (size_t k = 0; k < 6 && label < 0; ++k)
        if (emotions[k] == best && table.contains(folder) && table.normalise(folder, where) == kColumns[k]) label = static_cast<int64_t>(k);
      for (size_t k = 0; k < 6 && label < 0; ++k)
        if (emotions[k] == best) label = static_cast<int64_t>(k);
      d.notes["argmax tied (broken by folder, else column order)"]++;
    }
    row.label = kColumns[label];
    row.image = (fs::path(images) / file).lexically_normal().string();
    if (!fs::exists(row.image)) {
      // Some copies spell the disgust folder "digust" (and some ground-truth files do).
      std::string alt = folder == "disgust" ? "digust" : folder == "digust" ? "disgust" : "";
      auto alt_path = (fs::path(images) / alt / fs::path(file).filename()).lexically_normal().string();
      if (!alt.empty() && fs::exists(alt_path)) row.image = alt_path, d.notes["found under the disgust/digust folder alias"]++;
    }
    for (size_t k = 0; k < 7; ++k) row.distribution[kColumns[k]] = p[k];
    row.dimensions = {{"valence", parse_number(r.cells[1], where)}, {"arousal", parse_number(r.cells[2], where)}};
    row.key = relative_to(row.image, o.root);
    row.source = where;
    add_if_present(d, std::move(row), o);
  }
  return d;
}

PreparedDataset convert_katsurai(const PrepareOptions& o) {
  PreparedDataset d;
  d.name = o.dataset;
  d.split_strategy = "stratified";
  LabelTable table = binary_labels();
  d.labels = table.labels;
  std::string csv = o.csv.empty() ? only_csv_in(o.root) : o.csv;
  std::string pattern = o.image_pattern;
  if (pattern.empty()) pattern = fs::is_directory(fs::path(o.root) / "images") ? "images/{id}.jpg" : "{id}.jpg";
  auto records = read_csv(csv);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    auto where = concat(csv, ":", r.line);
    if (r.cells.size() != 4) raise(where, ": expected 4 cells (id, #positive, #neutral, #negative), got ", r.cells.size());
    bool numeric = true;
    for (size_t k = 1; k < 4; ++k) numeric &= !r.cells[k].empty() && r.cells[k].find_first_not_of(" 0123456789") == std::string::npos;
    if (i == 0 && !numeric) continue;  // a header row
    int64_t pos = parse_count(r.cells[1], where), neu = parse_count(r.cells[2], where), neg = parse_count(r.cells[3], where);
    int64_t total = pos + neu + neg;
    // Majority: at least 2 of the 3 annotators (in general, more than half of the votes).
    if (2 * neu > total) {
      d.dropped["neutral majority"]++;
      continue;
    }
    if (2 * pos <= total && 2 * neg <= total) {
      d.dropped["no majority"]++;
      continue;
    }
    PreparedRow row;
    row.label = 2 * pos > total ? "positive" : "negative";
    auto id = trimmed(r.cells[0]);
    row.image = (fs::path(o.root) / fill_pattern(pattern, {{"id", id}}, "prepare.image_pattern")).lexically_normal().string();
    row.distribution = {{"positive", pos}, {"neutral", neu}, {"negative", neg}};
    row.key = relative_to(row.image, o.root);
    row.source = where;
    add_if_present(d, std::move(row), o);
  }
  return d;
}

PreparedDataset convert_abstract(const PrepareOptions& o) {
  PreparedDataset d;
  d.name = "abstract";
  d.split_strategy = "stratified";
  LabelTable table = mikels_labels();
  d.labels = table.labels;
  std::string csv = o.csv.empty() ? find_existing(o.root, {"testImages_abstract/ABSTRACT_groundTruth.csv", "ABSTRACT_groundTruth.csv"},
                                                  "Abstract ABSTRACT_groundTruth.csv")
                                  : o.csv;
  auto records = read_csv(csv, {',', '\''});
  if (records.empty()) raise(csv, ": empty file");
  const auto& header = records[0];
  if (header.cells.size() < 2) raise(csv, ":", header.line, ": expected a header of emotion names");
  std::vector<std::string> columns;
  for (size_t k = 1; k < header.cells.size(); ++k) columns.push_back(table.normalise(header.cells[k], concat(csv, ":", header.line)));
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& r = records[i];
    auto where = concat(csv, ":", r.line);
    if (r.cells.size() != header.cells.size())
      raise(where, ": expected ", header.cells.size(), " cells like the header, got ", r.cells.size());
    std::vector<double> votes;
    PreparedRow row;
    for (size_t k = 1; k < r.cells.size(); ++k) {
      votes.push_back(static_cast<double>(parse_count(r.cells[k], where)));
      row.distribution[columns[k - 1]] = static_cast<int64_t>(votes.back());
    }
    int64_t top = unique_argmax(votes);
    if (top < 0) {
      d.dropped["top vote tied"]++;
      continue;
    }
    row.label = columns[static_cast<size_t>(top)];
    row.image = (fs::path(csv).parent_path() / r.cells[0]).lexically_normal().string();
    row.key = relative_to(row.image, o.root);
    row.source = where;
    add_if_present(d, std::move(row), o);
  }
  return d;
}

}  // namespace emotune
