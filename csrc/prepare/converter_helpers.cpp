#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "prepare/converters.h"
#include "prepare/label_table.h"

namespace emotune {
namespace fs = std::filesystem;

bool is_image_file(const std::string& path) {
  static const char* kExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"};
  auto ext = lower_trimmed(fs::path(path).extension().string());
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

std::vector<std::string> list_images(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && is_image_file(e.path().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_existing(const std::string& root, const std::vector<std::string>& candidates, const std::string& what) {
  std::string tried;
  for (const auto& c : candidates) {
    auto p = fs::path(root) / c;
    if (fs::exists(p)) return p.string();
    tried += (tried.empty() ? "" : ", ") + p.string();
  }
  raise("no ", what, " found (looked for ", tried, ")");
}

std::string relative_to(const std::string& path, const std::string& root) {
  return fs::path(path).lexically_normal().lexically_relative(fs::path(root).lexically_normal()).generic_string();
}

int64_t parse_count(const std::string& cell, const std::string& where) {
  auto t = lower_trimmed(cell);
  size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (t.empty() || used != t.size() || v < 0) raise(where, ": expected a vote count (a non-negative integer), got '", cell, "'");
  return v;
}

double parse_number(const std::string& cell, const std::string& where) {
  auto t = lower_trimmed(cell);
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (t.empty() || used != t.size()) raise(where, ": expected a number, got '", cell, "'");
  return v;
}

std::string fill_pattern(const std::string& pattern, const std::vector<std::pair<std::string, std::string>>& values,
                         const std::string& key) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    auto close = pattern.find('}', i);
    if (close == std::string::npos) raise(key, ": unclosed '{' in '", pattern, "'");
    auto name = pattern.substr(i + 1, close - i - 1);
    auto it = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == name; });
    if (it == values.end()) {
      std::string known;
      for (const auto& kv : values) known += (known.empty() ? "{" : ", {") + kv.first + "}";
      raise(key, ": unknown placeholder {", name, "} in '", pattern, "' (known: ", known, ")");
    }
    out += it->second;
    i = close;
  }
  return out;
}

void add_if_present(PreparedDataset& dataset, PreparedRow row, const PrepareOptions& options) {
  if (!fs::exists(row.image)) {
    if (options.missing_images_are_errors)
      raise(row.source, ": image '", row.image, "' does not exist (set prepare.missing_images=drop to drop and count such rows)");
    dataset.dropped["image file missing"]++;
    return;
  }
  dataset.rows.push_back(std::move(row));
}

}  // namespace emotune
