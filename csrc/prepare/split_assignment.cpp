#include "prepare/split_assignment.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
const char* kSplitNames[3] = {"train", "val", "test"};

struct SplitSettings {
  std::string dataset, strategy;
  uint64_t seed = 0;
  std::vector<double> ratios;
  nlohmann::json to_json() const { return {{"dataset", dataset}, {"strategy", strategy}, {"seed", seed}, {"ratios", ratios}}; }
};

// One line per row keeps the file readable and diffable.
std::string splits_file_text(const SplitSettings& s, const std::vector<const PreparedRow*>& rows) {
  std::string text = "{\"settings\": " + s.to_json().dump() + ",\n \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i)
    text += "  " + nlohmann::json::array({rows[i]->key, rows[i]->label, rows[i]->split}).dump() + (i + 1 < rows.size() ? ",\n" : "\n");
  return text + "]}\n";
}

// Cuts `members` (indices into rows, sorted by key) by the ratios, in a seeded order.
void cut(std::vector<PreparedRow*>& members, const std::vector<double>& ratios, uint64_t seed, const std::string& group,
         bool keep_one_for_training) {
  const auto n = static_cast<int64_t>(members.size());
  auto order = seeded_permutation(n, seed, string_seed(group));
  int64_t n_train = std::llround(static_cast<double>(n) * ratios[0]);
  if (keep_one_for_training && n > 0) n_train = std::max<int64_t>(n_train, 1);
  int64_t n_val = std::min(n - n_train, static_cast<int64_t>(std::llround(static_cast<double>(n) * ratios[1])));
  for (int64_t i = 0; i < n; ++i)
    members[static_cast<size_t>(order[static_cast<size_t>(i)])]->split = kSplitNames[i < n_train ? 0 : i < n_train + n_val ? 1 : 2];
}

std::string describe_changes(const std::map<std::string, std::string>& stored, const std::vector<const PreparedRow*>& rows) {
  int64_t added = 0, relabelled = 0;
  std::string first_added, first_relabelled;
  std::map<std::string, bool> seen;
  for (const auto* r : rows) {
    auto it = stored.find(r->key);
    seen[r->key] = true;
    if (it == stored.end()) {
      if (!added++) first_added = r->key;
    } else if (it->second != r->label) {
      if (!relabelled++) first_relabelled = concat(r->key, " (", it->second, " -> ", r->label, ")");
    }
  }
  int64_t removed = 0;
  std::string first_removed;
  for (const auto& [k, v] : stored)
    if (!seen.count(k) && !removed++) first_removed = k;
  std::string out;
  auto part = [&](int64_t n, const char* what, const std::string& example) {
    if (n) out += concat(out.empty() ? "" : ", ", n, " ", what, " (e.g. ", example, ")");
  };
  part(added, "added", first_added);
  part(removed, "removed", first_removed);
  part(relabelled, "relabelled", first_relabelled);
  return out;
}
}  // namespace

void assign_splits(PreparedDataset& d, const PrepareOptions& o, const std::vector<double>& default_ratios,
                   const std::string& splits_path) {
  const size_t official = static_cast<size_t>(std::count_if(d.rows.begin(), d.rows.end(), [](const PreparedRow& r) { return !r.split.empty(); }));
  if (official == d.rows.size()) return;
  if (official) raise("internal: ", d.name, " converter gave splits for ", official, " of ", d.rows.size(), " rows");
  SplitSettings settings{d.name, d.split_strategy, o.seed, {}};
  if (d.split_strategy == "per_user") {
    settings.ratios = {o.user_train_fraction, o.user_val_fraction, 1.0 - o.user_train_fraction - o.user_val_fraction};
    if (o.user_train_fraction <= 0 || o.user_val_fraction < 0 || settings.ratios[2] < -1e-9)
      raise("prepare.user_train_fraction / prepare.user_val_fraction: expected fractions in (0, 1] and [0, 1) summing to at most 1, got ",
            o.user_train_fraction, " and ", o.user_val_fraction);
  } else {
    settings.ratios = o.split_ratios.empty() ? default_ratios : o.split_ratios;
    double sum = 0;
    for (double r : settings.ratios) sum += r;
    if (settings.ratios.size() != 3 || std::abs(sum - 1.0) > 1e-6 ||
        std::any_of(settings.ratios.begin(), settings.ratios.end(), [](double r) { return r < 0; }))
      raise("prepare.split_ratios: expected three non-negative fractions [train, val, test] summing to 1, got ",
            nlohmann::json(settings.ratios).dump());
  }
  d.split_ratios = settings.ratios;
  std::vector<PreparedRow*> sorted;
  for (auto& r : d.rows) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](const PreparedRow* a, const PreparedRow* b) { return a->key < b->key; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->key == sorted[i - 1]->key) raise(sorted[i]->source, ": '", sorted[i]->key, "' appears twice (also ", sorted[i - 1]->source, ")");
  std::vector<const PreparedRow*> view(sorted.begin(), sorted.end());

  if (fs::exists(splits_path) && !o.resplit) {
    nlohmann::json stored;
    try {
      stored = nlohmann::json::parse(read_file(splits_path));
    } catch (const nlohmann::json::exception& e) {
      raise(splits_path, ": not a splits file (", e.what(), "); delete it or set prepare.resplit=true");
    }
    if (stored.value("settings", nlohmann::json()) != settings.to_json())
      raise(splits_path, " was written with ", stored.value("settings", nlohmann::json()).dump(), " but this run asks for ",
            settings.to_json().dump(), ". Splits are never recomputed silently: set prepare.resplit=true to replace them.");
    std::map<std::string, std::string> labels, splits;
    for (const auto& row : stored.at("rows")) {
      labels[row.at(0).get<std::string>()] = row.at(1).get<std::string>();
      splits[row.at(0).get<std::string>()] = row.at(2).get<std::string>();
    }
    auto changes = describe_changes(labels, view);
    if (!changes.empty())
      raise("the input of ", splits_path, " has changed: ", changes,
            ". Splits are never recomputed silently: restore the input, or set prepare.resplit=true to compute new splits.");
    for (auto* r : sorted) r->split = splits.at(r->key);
    return;
  }

  std::map<std::string, std::vector<PreparedRow*>> groups;  // label or user -> rows, in key order
  for (auto* r : sorted) groups[d.split_strategy == "per_user" ? r->user : r->label].push_back(r);
  for (auto& [group, members] : groups) cut(members, settings.ratios, o.seed, group, d.split_strategy == "per_user");
  if (fs::exists(splits_path)) fs::rename(splits_path, splits_path + ".bak");
  write_file_atomic(splits_path, splits_file_text(settings, view));
}

}  // namespace emotune
