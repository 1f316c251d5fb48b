// Affection (the personalisation paper's dataset, paper 000 §IV-A): one CSV row per annotation with columns
// workerid, utterance, emotion, dataset, image_name (the preprocessed release adds split). A user is a
// workerid; each row becomes a manifest row with that user. Without a split column, splits are per user
// (prepare.user_train_fraction, 30% as in the paper). Images: prepare.image_pattern, whose {placeholders}
// are the CSV's column names (default images/{dataset}/{image_name}).
#include <filesystem>
#include <set>

#include "core/error.h"
#include "data/csv_table.h"
#include "prepare/converters.h"
#include "prepare/label_table.h"

namespace emotune {
namespace fs = std::filesystem;

PreparedDataset convert_affection(const PrepareOptions& o) {
  PreparedDataset d;
  d.name = "affection";
  d.split_strategy = "per_user";
  LabelTable table = artemis_labels();
  d.labels = table.labels;
  std::string csv = o.csv.empty() ? find_existing(o.root, {"affection_raw_public_version_0.csv"}, "Affection CSV") : o.csv;
  auto records = read_csv(csv);
  if (records.empty()) raise(csv, ": empty file");
  const auto& header = records[0].cells;
  auto column = [&](const char* name, bool required) -> int64_t {
    for (size_t k = 0; k < header.size(); ++k)
      if (lower_trimmed(header[k]) == name) return static_cast<int64_t>(k);
    if (required) raise(csv, ":", records[0].line, ": no column '", name, "' (expected workerid, utterance, emotion, dataset, image_name)");
    return -1;
  };
  const int64_t worker = column("workerid", true), emotion = column("emotion", true), utterance = column("utterance", false),
                split = column("split", false);
  column("image_name", true);
  std::string pattern = o.image_pattern.empty() ? "images/{dataset}/{image_name}" : o.image_pattern;
  if (split >= 0) d.split_strategy = "official";
  std::set<std::string> seen;
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& r = records[i];
    auto where = concat(csv, ":", r.line);
    if (r.cells.size() != header.size()) raise(where, ": expected ", header.size(), " cells like the header, got ", r.cells.size());
    std::vector<std::pair<std::string, std::string>> values;
    for (size_t k = 0; k < header.size(); ++k) values.emplace_back(lower_trimmed(header[k]), trimmed(r.cells[k]));
    PreparedRow row;
    row.user = trimmed(r.cells[static_cast<size_t>(worker)]);
    if (row.user.empty()) raise(where, ": empty workerid");
    row.label = table.normalise(r.cells[static_cast<size_t>(emotion)], where);
    row.image = (fs::path(o.root) / fill_pattern(pattern, values, "prepare.image_pattern")).lexically_normal().string();
    row.key = row.user + "|" + relative_to(row.image, o.root);
    if (!seen.insert(row.key).second) {
      d.dropped["repeated annotation of an image by the same worker (first kept)"]++;
      continue;
    }
    if (split >= 0) {
      row.split = lower_trimmed(r.cells[static_cast<size_t>(split)]);
      if (row.split.empty()) raise(where, ": empty split cell");
    }
    if (utterance >= 0) row.meta = {{"utterance", r.cells[static_cast<size_t>(utterance)]}};
    row.source = where;
    add_if_present(d, std::move(row), o);
  }
  return d;
}

}  // namespace emotune
