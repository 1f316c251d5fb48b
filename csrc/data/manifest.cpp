#include "data/manifest.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "core/error.h"

namespace emotune {
namespace fs = std::filesystem;

std::string Manifest::where(const ManifestRow& row) const { return concat(path, ":", row.line); }

std::vector<ManifestRow> Manifest::split(const std::string& name, int64_t max_rows) const {
  std::vector<ManifestRow> out;
  for (const auto& r : rows)
    if (r.split == name && (max_rows <= 0 || static_cast<int64_t>(out.size()) < max_rows)) out.push_back(r);
  return out;
}

namespace {
// {"valence": 6.2, "arousal": 3.9}: finite numbers by name.
std::map<std::string, double> read_dimensions(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) raise(where, ": field 'dimensions' must be an object of numbers by name, e.g. {\"valence\": 6.2}");
  std::map<std::string, double> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number() || !std::isfinite(it.value().get<double>()))
      raise(where, ": dimension '", it.key(), "' must be a finite number, got ", it.value().dump());
    out[it.key()] = it.value().get<double>();
  }
  return out;
}

// Positions 0..n-1 once each, one split per sequence.
void check_sequences(const Manifest& m) {
  std::map<std::string, std::map<int64_t, const ManifestRow*>> sequences;
  for (const auto& row : m.rows) {
    if (row.sequence.empty()) continue;
    auto& positions = sequences[row.sequence];
    if (!positions.empty() && positions.begin()->second->split != row.split)
      raise(m.where(row), ": sequence '", row.sequence, "' is in split '", row.split, "' here and in '", positions.begin()->second->split,
            "' on line ", positions.begin()->second->line, " (a sequence lies in one split)");
    auto [at, fresh] = positions.emplace(row.position, &row);
    if (!fresh) raise(m.where(row), ": sequence '", row.sequence, "' has position ", row.position, " twice (also line ", at->second->line, ")");
  }
  for (const auto& [id, positions] : sequences) {
    int64_t expected = 0;
    for (const auto& [position, row] : positions)
      if (position != expected++)
        raise(m.path, ": sequence '", id, "' has no position ", expected - 1, " (positions run 0..n-1; line ", row->line, " has ", position, ")");
  }
}
}  // namespace

Manifest load_manifest(const std::string& path, bool drop_duplicate_rows) {
  std::ifstream in(path);
  if (!in) raise("cannot read manifest '", path, "'");
  Manifest m;
  m.path = path;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> first_line;  // (image, user, split) -> line
  fs::path base = fs::path(path).parent_path();
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto where = concat(path, ":", line);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      raise(where, ": invalid JSON: ", e.what());
    }
    if (!j.is_object()) raise(where, ": expected a JSON object");
    static const char* kKeys[] = {"image", "label", "split", "user", "aspects", "distribution", "meta", "sequence", "position", "speaker", "text", "dimensions"};
    for (auto it = j.begin(); it != j.end(); ++it) {
      bool known = false;
      for (auto k : kKeys) known |= it.key() == k;
      if (!known)
        raise(where, ": unknown field '", it.key(), "' (expected image, label, split, user, aspects, distribution, meta, sequence, position, speaker, text, dimensions)");
    }
    auto str = [&](const char* key, bool required) -> std::string {
      if (!j.contains(key) || j[key].is_null()) {
        if (required) raise(where, ": missing field '", key, "'");
        return "";
      }
      if (!j[key].is_string()) raise(where, ": field '", key, "' must be a string");
      return j[key].get<std::string>();
    };
    ManifestRow row;
    row.line = line;
    fs::path image = str("image", true);
    row.image = (image.is_absolute() ? image : base / image).lexically_normal().string();
    row.label = str("label", false);
    row.split = str("split", true);
    row.user = str("user", false);
    if (j.contains("aspects") && !j["aspects"].is_null()) {
      if (!j["aspects"].is_object()) raise(where, ": field 'aspects' must be an object");
      row.aspects = j["aspects"];
    }
    row.sequence = str("sequence", false);
    row.speaker = str("speaker", false);
    row.text = str("text", false);
    if (j.contains("position") && !j["position"].is_null()) {
      if (!j["position"].is_number_integer() || j["position"].get<int64_t>() < 0)
        raise(where, ": field 'position' must be an integer >= 0 (the row's place in its sequence)");
      row.position = j["position"].get<int64_t>();
    }
    if (row.sequence.empty() != (row.position < 0))
      raise(where, row.sequence.empty() ? ": field 'position' without 'sequence'" : ": field 'sequence' without 'position'");
    if (j.contains("distribution")) row.distribution = j["distribution"];
    if (j.contains("meta")) row.meta = j["meta"];
    if (j.contains("dimensions") && !j["dimensions"].is_null()) row.dimensions = read_dimensions(j["dimensions"], where);
    auto [seen, fresh] = first_line.emplace(std::make_tuple(row.image, row.user, row.split), line);
    if (!fresh) {
      if (!drop_duplicate_rows)
        raise(where, ": duplicate of line ", seen->second, " (the same image, user and split: ", row.image,
              "); remove it, or set data.duplicate_rows: drop to keep the first");
      ++m.dropped_duplicates;
      continue;
    }
    m.rows.push_back(std::move(row));
  }
  if (m.rows.empty()) raise(path, ": manifest has no rows");
  check_sequences(m);
  return m;
}

}  // namespace emotune
