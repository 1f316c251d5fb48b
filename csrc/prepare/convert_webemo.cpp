// WEBEmo (Panda et al., ECCV 2018): category.txt (the 25 level-3 names, original misspellings kept:
// cheerfullness, irritabilty), train25.txt and test25.txt (`<url> <label 0-24>` per line; the official
// split). Images are wherever the user downloaded them: prepare.image_pattern (default images/{basename},
// the URL's last path component). The 7- and 2-class versions come through a mapping table
// (prepare.label_map, a YAML file), because papers differ; without one, the built-in table below follows
// Parrott's hierarchy, on which WEBEmo is built.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "prepare/converters.h"
#include "prepare/label_table.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
// level 3 -> level 2 (Parrott's primary emotions, plus WEBEmo's confusion).
const std::map<std::string, std::string>& parrott_level2() {
  static const std::map<std::string, std::string> m{
      {"affection", "love"},          {"gratitude", "love"},          {"lust", "love"},
      {"cheerfullness", "joy"},       {"contentment", "joy"},         {"enthrallment", "joy"},
      {"optimism", "joy"},            {"pride", "joy"},               {"relief", "joy"},
      {"zest", "joy"},                {"surprise", "surprise"},       {"confusion", "confusion"},
      {"disgust", "anger"},           {"envy", "anger"},              {"exasperation", "anger"},
      {"irritabilty", "anger"},       {"rage", "anger"},              {"horror", "fear"},
      {"nervousness", "fear"},        {"disappointment", "sadness"},  {"neglect", "sadness"},
      {"sadness", "sadness"},         {"shame", "sadness"},           {"suffering", "sadness"},
      {"sympathy", "sadness"}};
  return m;
}
const std::map<std::string, std::string>& level2_polarity() {
  static const std::map<std::string, std::string> m{{"love", "positive"}, {"joy", "positive"}, {"surprise", "positive"},
                                                    {"confusion", "negative"}, {"anger", "negative"}, {"fear", "negative"},
                                                    {"sadness", "negative"}};
  return m;
}

std::vector<std::string> read_categories(const std::string& path) {
  std::ifstream in(path);
  if (!in) raise("cannot read '", path, "'");
  std::vector<std::string> names;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    std::istringstream tokens(text);
    std::vector<std::string> t;
    for (std::string w; tokens >> w;) t.push_back(w);
    if (t.empty()) continue;
    // "name", "index name" or "name index".
    auto is_int = [](const std::string& s) { return s.find_first_not_of("0123456789") == std::string::npos; };
    std::string name = t.size() == 2 && is_int(t[0]) ? t[1] : t[0];
    if (t.size() > 2 || (t.size() == 2 && !is_int(t[0]) && !is_int(t[1])))
      raise(path, ":", line, ": expected a category name, optionally with its index, got '", text, "'");
    if (t.size() == 2 && std::stoll(is_int(t[0]) ? t[0] : t[1]) != static_cast<long long>(names.size()))
      raise(path, ":", line, ": expected category index ", names.size(), ", got '", text, "'");
    names.push_back(lower_trimmed(name));
  }
  return names;
}
}  // namespace

PreparedDataset convert_webemo(const PrepareOptions& o) {
  if (o.webemo_classes != 25 && o.webemo_classes != 7 && o.webemo_classes != 2)
    raise("prepare.webemo_classes: expected 25, 7 or 2, got ", o.webemo_classes);
  PreparedDataset d;
  d.name = concat("webemo", o.webemo_classes);
  auto categories = read_categories(find_existing(o.root, {"category.txt"}, "WEBEmo category.txt"));
  std::map<std::string, std::string> map;  // level 3 -> target
  if (o.webemo_classes != 25) {
    if (!o.label_map.empty()) {
      map = load_label_map(o.label_map);
    } else {
      for (const auto& [fine, mid] : parrott_level2()) map[fine] = o.webemo_classes == 7 ? mid : level2_polarity().at(mid);
    }
  }
  auto target = [&](const std::string& fine, const std::string& where) {
    if (o.webemo_classes == 25) return fine;
    auto it = map.find(fine);
    if (it == map.end())
      raise(where, ": category '", fine, "' has no entry in ", o.label_map.empty() ? "the built-in WEBEmo table" : o.label_map);
    return it->second;
  };
  std::vector<std::string> labels;
  for (const auto& c : categories) {
    auto t = target(c, "category.txt");
    if (std::find(labels.begin(), labels.end(), t) == labels.end()) labels.push_back(t);
  }
  d.labels = labels;
  std::string pattern = o.image_pattern.empty() ? "images/{basename}" : o.image_pattern;
  for (const char* split : {"train", "test"}) {
    auto path = find_existing(o.root, {std::string(split) + "25.txt"}, concat("WEBEmo ", split, "25.txt"));
    std::ifstream in(path);
    std::string text;
    for (int64_t line = 1; std::getline(in, text); ++line) {
      std::istringstream tokens(text);
      std::string url, label, extra;
      if (!(tokens >> url)) continue;
      auto where = concat(path, ":", line);
      if (!(tokens >> label) || (tokens >> extra)) raise(where, ": expected '<url> <label 0-24>', got '", text, "'");
      int64_t index = parse_count(label, where);
      if (index >= static_cast<int64_t>(categories.size()))
        raise(where, ": label ", index, " is not a category of category.txt (0-", categories.size() - 1, ")");
      auto base = url.substr(0, url.find_first_of("?#"));
      base = base.substr(base.find_last_of('/') + 1);
      PreparedRow row;
      row.label = target(categories[static_cast<size_t>(index)], where);
      row.split = split;
      row.image = (fs::path(o.root) / fill_pattern(pattern, {{"basename", base}, {"label", label}, {"line", std::to_string(line)}, {"split", split}},
                                                   "prepare.image_pattern"))
                      .lexically_normal()
                      .string();
      row.meta = {{"url", url}, {"category", categories[static_cast<size_t>(index)]}};
      row.key = relative_to(row.image, o.root);
      row.source = where;
      add_if_present(d, std::move(row), o);
    }
  }
  return d;
}

}  // namespace emotune
