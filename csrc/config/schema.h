// Strict YAML → typed struct binding. A schema maps dotted keys ("train.lr") to fields of a struct, each with
// its type, default (the field's current value) and help text. Applying a YAML document rejects unknown keys
// (with the nearest valid key as a suggestion) and wrong types, naming the file and line. The same schema
// writes the resolved values back as YAML (stored in checkpoints) and lists the keys for --help.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace emotune {

using StringListMap = std::map<std::string, std::vector<std::string>>;

class ConfigSchema {
 public:
  void add(const std::string& key, std::string* field, const std::string& help);
  void add(const std::string& key, int64_t* field, const std::string& help);
  void add(const std::string& key, double* field, const std::string& help);
  void add(const std::string& key, bool* field, const std::string& help);
  void add(const std::string& key, std::vector<std::string>* field, const std::string& help);
  void add(const std::string& key, std::vector<double>* field, const std::string& help);
  void add(const std::string& key, std::vector<int64_t>* field, const std::string& help);
  // A map of free sub-keys to string lists (e.g. per-aspect question templates).
  void add(const std::string& key, StringListMap* field, const std::string& help);
  // A string restricted to `choices`.
  void add_choice(const std::string& key, std::string* field, std::vector<std::string> choices,
                  const std::string& help);

  // `source` names the document in errors (a file path, or "--set").
  void apply(const YAML::Node& root, const std::string& source);
  void apply_file(const std::string& path);
  // "a.b=value": value is parsed as YAML, so lists ("[a, b]") and numbers work.
  void apply_override(const std::string& assignment);

  YAML::Node to_yaml() const;
  std::string to_yaml_string() const;
  std::string describe() const;  // one line per key: key, type, default, help
  std::vector<std::string> keys() const;

 private:
  struct Entry {
    std::string key, type, help;
    std::function<void(const YAML::Node&, const std::string& where)> set;
    std::function<YAML::Node()> get;
  };
  void add_entry(Entry e);
  void apply_at(const YAML::Node& node, const std::string& prefix, const std::string& source);
  const Entry* find(const std::string& key) const;
  [[noreturn]] void unknown_key(const std::string& key, const std::string& where) const;
  std::vector<Entry> entries_;
};

// "file:line" for a node (yaml-cpp lines are 0-based).
std::string where_of(const YAML::Node& node, const std::string& source);

}  // namespace emotune
