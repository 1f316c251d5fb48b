#include "config/schema.h"

#include <cctype>
#include <sstream>

#include "config/did_you_mean.h"
#include "core/error.h"

namespace emotune {

std::string where_of(const YAML::Node& node, const std::string& source) {
  auto mark = node.Mark();
  if (mark.line < 0) return source;
  return concat(source, ":", mark.line + 1);
}

namespace {

template <typename T>
T scalar_as(const YAML::Node& node, const std::string& key, const std::string& where, const char* type) {
  if (!node.IsScalar()) raise(where, ": key '", key, "' expects ", type, ", got a ", node.IsSequence() ? "list" : "map");
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    raise(where, ": key '", key, "' expects ", type, ", got '", node.Scalar(), "'");
  }
}

template <typename T>
std::vector<T> list_as(const YAML::Node& node, const std::string& key, const std::string& where, const char* type) {
  if (!node.IsSequence()) raise(where, ": key '", key, "' expects a list of ", type);
  std::vector<T> out;
  for (const auto& item : node) out.push_back(scalar_as<T>(item, key, where, type));
  return out;
}

template <typename T>
YAML::Node node_of(const T& value) {
  YAML::Node n;
  n = value;
  return n;
}

}  // namespace

void ConfigSchema::add_entry(Entry e) {
  if (find(e.key)) raise("internal: config key '", e.key, "' registered twice");
  entries_.push_back(std::move(e));
}

void ConfigSchema::add(const std::string& key, std::string* f, const std::string& help) {
  add_entry({key, "string", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = scalar_as<std::string>(n, key, w, "a string"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, int64_t* f, const std::string& help) {
  add_entry({key, "integer", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = scalar_as<int64_t>(n, key, w, "an integer"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, double* f, const std::string& help) {
  add_entry({key, "number", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = scalar_as<double>(n, key, w, "a number"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, bool* f, const std::string& help) {
  add_entry({key, "bool", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = scalar_as<bool>(n, key, w, "true or false"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, std::vector<std::string>* f, const std::string& help) {
  add_entry({key, "list of strings", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = list_as<std::string>(n, key, w, "strings"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, std::vector<double>* f, const std::string& help) {
  add_entry({key, "list of numbers", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = list_as<double>(n, key, w, "numbers"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, std::vector<int64_t>* f, const std::string& help) {
  add_entry({key, "list of integers", help,
             [f, key](const YAML::Node& n, const std::string& w) { *f = list_as<int64_t>(n, key, w, "integers"); },
             [f] { return node_of(*f); }});
}
void ConfigSchema::add(const std::string& key, StringListMap* f, const std::string& help) {
  add_entry({key, "map of string lists", help,
             [f, key](const YAML::Node& n, const std::string& w) {
               if (!n.IsMap()) raise(w, ": key '", key, "' expects a map from names to lists of strings");
               // Entries given here replace those of the same name; others keep their defaults.
               for (const auto& kv : n) {
                 auto sub = kv.first.as<std::string>();
                 (*f)[sub] = list_as<std::string>(kv.second, key + "." + sub, w, "strings");
               }
             },
             [f] { return node_of(*f); }});
}
std::string ConfigSchema::scalar_string(const YAML::Node& node, const std::string& key, const std::string& where) {
  return scalar_as<std::string>(node, key, where, "a string");
}

void ConfigSchema::unknown_choice(const std::string& key, const std::string& where, const std::string& value,
                                  const std::vector<std::string>& choices) {
  std::string joined;
  for (const auto& c : choices) joined += (joined.empty() ? "" : "|") + c;
  raise(where, ": key '", key, "' expects one of ", joined, ", got '", value, "'", suggestion(value, choices));
}

void ConfigSchema::add_choice(const std::string& key, std::string* f, std::vector<std::string> choices,
                              const std::string& help) {
  std::string joined;
  for (const auto& c : choices) joined += (joined.empty() ? "" : "|") + c;
  add_entry({key, joined, help,
             [f, key, choices](const YAML::Node& n, const std::string& w) {
               auto v = scalar_as<std::string>(n, key, w, "a string");
               for (const auto& c : choices)
                 if (c == v) return void(*f = v);
               unknown_choice(key, w, v, choices);
             },
             [f] { return node_of(*f); }});
}

namespace {
// "file.yaml:12" → "file.yaml": the document a key was read from, for errors inside an overlay's map.
std::string source_of(const std::string& where) {
  auto colon = where.rfind(':');
  if (colon == std::string::npos || colon + 1 == where.size()) return where;
  for (size_t i = colon + 1; i < where.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(where[i]))) return where;
  return where.substr(0, colon);
}
}  // namespace

void ConfigSchema::add_overlay(const std::string& key, ConfigOverlay* f, std::function<void(const ConfigOverlay&)> check,
                               const std::string& help) {
  auto add_layer = [f, check, key](ConfigOverlay::Layer layer) {
    ConfigOverlay one;
    one.layers.push_back(layer);
    try {
      check(one);
    } catch (const std::exception& e) {
      raise(e.what(), " (in the section '", key, "')");
    }
    f->layers.push_back(std::move(layer));
  };
  Entry e{key, "section of config keys", help,
          [key, add_layer](const YAML::Node& n, const std::string& w) {
            if (n.IsNull() || (n.IsMap() && n.size() == 0)) return;
            if (!n.IsMap()) raise(w, ": key '", key, "' expects a map of config keys, e.g. ", key, ": {train.lr: 0.001}");
            add_layer({n, "", source_of(w)});
          },
          [f] { return f->merged(); }};
  e.overlay = f;
  e.check_overlay = [add_layer](const ConfigOverlay& assignment) { add_layer(assignment.layers.front()); };
  add_entry(std::move(e));
}

void ConfigSchema::add_retired(const std::string& key, std::function<std::string(const YAML::Node&)> hint) {
  Entry e{key, "retired", "", [key, hint](const YAML::Node& n, const std::string& w) { raise(w, ": '", key, "' ", hint(n)); },
          [] { return YAML::Node(); }};
  e.retired = true;
  add_entry(std::move(e));
}

const ConfigSchema::Entry* ConfigSchema::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

std::vector<std::string> ConfigSchema::keys() const {
  std::vector<std::string> out;
  for (const auto& e : entries_)
    if (!e.retired) out.push_back(e.key);
  return out;
}

void ConfigSchema::unknown_key(const std::string& key, const std::string& where) const {
  raise(where, ": unknown config key '", key, "'", suggestion(key, keys()));
}

void ConfigSchema::apply_at(const YAML::Node& node, const std::string& prefix, const std::string& source) {
  if (node.IsNull()) return;
  if (!node.IsMap()) raise(where_of(node, source), ": expected a map of config keys", prefix.empty() ? "" : " under '" + prefix + "'");
  for (const auto& kv : node) {
    auto where = where_of(kv.first, source);
    // YAML allows any node as a key ("? [a, b]: 1"); config keys are names.
    if (!kv.first.IsScalar()) raise(where, ": expected a config key name", prefix.empty() ? "" : " under '" + prefix + "'", ", got a ",
                                    kv.first.IsMap() ? "map" : kv.first.IsSequence() ? "list" : "null");
    auto name = kv.first.as<std::string>();
    auto key = prefix.empty() ? name : prefix + "." + name;
    if (const Entry* e = find(key)) {
      e->set(kv.second, where);
      continue;
    }
    bool is_section = false;
    for (const auto& e : entries_)
      if (e.key.rfind(key + ".", 0) == 0) is_section = true;
    if (!is_section) unknown_key(key, where);
    apply_at(kv.second, key, source);
  }
}

void ConfigSchema::apply(const YAML::Node& root, const std::string& source) { apply_at(root, "", source); }

void ConfigSchema::apply_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    raise("cannot read config file '", path, "'");
  } catch (const YAML::ParserException& e) {
    raise(path, ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
  apply(root, path);
}

void ConfigSchema::apply_override(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) raise("--set '", assignment, "': expected key=value");
  std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  const Entry* e = find(key);
  if (!e) {
    // --set ablation.stage1.train.lr=0.1: one key of an overlay section.
    for (const auto& section : entries_)
      if (section.overlay && key.rfind(section.key + ".", 0) == 0)
        return section.check_overlay(ConfigOverlay().set(key.substr(section.key.size() + 1), value));
    unknown_key(key, "--set");
  }
  // A string key takes the text verbatim (a question may well contain ": "); other keys parse it as YAML,
  // so lists ("[a, b]") and numbers work.
  if (e->type == "string" || e->type.find('|') != std::string::npos) return e->set(YAML::Node(value), "--set");
  YAML::Node node;
  try {
    node = YAML::Load(value);
  } catch (const YAML::ParserException& ex) {
    raise("--set ", key, ": invalid value '", value, "': ", ex.msg);
  }
  e->set(node, "--set");
}

namespace {
// Dotted keys as a tree that keeps registration order, turned into YAML maps bottom-up (assigning into
// not-yet-existing yaml-cpp children would only create detached "zombie" nodes).
struct KeyTree {
  std::vector<std::pair<std::string, KeyTree>> children;
  YAML::Node value;
  KeyTree& child(const std::string& name) {
    for (auto& [n, t] : children)
      if (n == name) return t;
    children.emplace_back(name, KeyTree{});
    return children.back().second;
  }
  // Sets `dotted` (a.b.c) to `v`; a map value merges key by key, so later layers win key by key.
  void put(const std::string& dotted, const YAML::Node& v) {
    auto dot = dotted.find('.');
    KeyTree& at = child(dotted.substr(0, dot));
    if (dot != std::string::npos) return at.put(dotted.substr(dot + 1), v);
    if (v.IsMap()) {
      at.value = YAML::Node();
      for (const auto& kv : v) at.put(kv.first.as<std::string>(), kv.second);
    } else {
      at.children.clear();
      at.value = YAML::Clone(v);
    }
  }
  YAML::Node build() const {
    if (children.empty()) return value;
    YAML::Node map(YAML::NodeType::Map);
    for (const auto& [n, t] : children) map[n] = t.build();
    return map;
  }
};
}  // namespace

YAML::Node ConfigOverlay::merged() const {
  KeyTree root;
  for (const auto& layer : layers) {
    if (layer.map.IsMap()) {
      for (const auto& kv : layer.map) root.put(kv.first.as<std::string>(), kv.second);
      continue;
    }
    auto eq = layer.assignment.find('=');
    const std::string key = layer.assignment.substr(0, eq), text = layer.assignment.substr(eq + 1);
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception&) {
    }
    if (!value.IsDefined() || value.IsNull() || value.IsMap()) value = YAML::Node(text);
    root.put(key, value);
  }
  return root.children.empty() ? YAML::Node(YAML::NodeType::Map) : root.build();
}

ConfigOverlay& ConfigOverlay::set(const std::string& key, const std::string& value, const std::string& source) {
  layers.push_back({YAML::Node(), key + "=" + value, source});
  return *this;
}

YAML::Node ConfigSchema::to_yaml() const {
  KeyTree root;
  for (const auto& e : entries_) {
    if (e.retired) continue;
    KeyTree* at = &root;
    std::stringstream ss(e.key);
    for (std::string part; std::getline(ss, part, '.');) at = &at->child(part);
    at->value = e.get();
  }
  return root.build();
}

std::string ConfigSchema::to_yaml_string() const {
  YAML::Emitter out;
  out << to_yaml();
  return out.c_str();
}

std::string ConfigSchema::describe() const {
  std::ostringstream out;
  for (const auto& e : entries_) {
    if (e.retired) continue;
    YAML::Emitter v;
    v << YAML::Flow << e.get();
    out << "  " << e.key << " (" << e.type << ", default " << v.c_str() << ")\n      " << e.help << "\n";
  }
  return out.str();
}

}  // namespace emotune
