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

#include "config/modes.h"

namespace emotune {

using StringListMap = std::map<std::string, std::vector<std::string>>;

// Config keys that hold for one stage or one table row only (ablation.stage1: {train: {lr: 3e-4}}): a typed
// section whose keys are the config's own keys, checked against the schema when read and applied on top of a
// loaded config (with_overlay in config.h). Layers apply in order: YAML maps from files, then key=value ones
// (--set ablation.stage1.train.lr=0.1, or settings made in code such as a sweep's).
struct ConfigOverlay {
  struct Layer {
    YAML::Node map;          // a map of config keys, or undefined for an assignment
    std::string assignment;  // "key=value"
    std::string source;      // a file, "--set" or what made it
  };
  std::vector<Layer> layers;
  bool empty() const { return layers.empty(); }
  ConfigOverlay& set(const std::string& key, const std::string& value, const std::string& source = "--set");
  // Everything the layers set, merged into one YAML map (what config_to_yaml stores; loading it gives the same).
  YAML::Node merged() const;
};

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
  // One of an enum's names (config/modes.h), stored as the enum.
  template <typename E>
  void add_enum(const std::string& key, E* field, const std::string& help) {
    std::string joined;
    for (const auto& name : enum_names<E>()) joined += (joined.empty() ? "" : "|") + name;
    add_entry({key, joined, help,
               [field, key, joined](const YAML::Node& n, const std::string& w) {
                 auto name = scalar_string(n, key, w);
                 auto value = enum_from_name<E>(name);
                 if (!value) unknown_choice(key, w, name, enum_names<E>());
                 *field = *value;
               },
               [field] { return YAML::Node(std::string(name_of(*field))); }});
  }
  // A typed section of config keys for one stage (see ConfigOverlay); `check` applies a new layer to a scratch
  // config so a wrong key or value is reported where it was written.
  void add_overlay(const std::string& key, ConfigOverlay* field, std::function<void(const ConfigOverlay&)> check,
                   const std::string& help);
  // A key that no longer exists: setting it is an error with `hint(value)`, which says what to write instead.
  void add_retired(const std::string& key, std::function<std::string(const YAML::Node&)> hint);

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
    ConfigOverlay* overlay = nullptr;  // an overlay section: --set key.sub=value adds a layer
    std::function<void(const ConfigOverlay&)> check_overlay{};
    bool retired = false;              // not listed, not written
  };
  void add_entry(Entry e);
  static std::string scalar_string(const YAML::Node& node, const std::string& key, const std::string& where);
  [[noreturn]] static void unknown_choice(const std::string& key, const std::string& where, const std::string& value,
                                          const std::vector<std::string>& choices);
  void apply_at(const YAML::Node& node, const std::string& prefix, const std::string& source);
  const Entry* find(const std::string& key) const;
  [[noreturn]] void unknown_key(const std::string& key, const std::string& where) const;
  std::vector<Entry> entries_;
};

// "file:line" for a node (yaml-cpp lines are 0-based).
std::string where_of(const YAML::Node& node, const std::string& source);

}  // namespace emotune
