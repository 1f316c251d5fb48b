// Which labels a trained soft prompt ranks (issue 28, finding 1). A stage-2 checkpoint stores its config, and
// its soft prompt was trained on a question listing data.labels in that order: ranking another set with it,
// because the command line's config happened to have other labels, gives confident answers among the wrong
// emotions. So the checkpoint's labels (and its emotion question) are used unless the user sets them, and a
// user's different label set is refused unless asked for (cross-dataset evaluation, MASP Table 1).
#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "io/checkpoint.h"

namespace emotune {
namespace {

// Whether `node` assigns the dotted `key`, nested (data: {labels: …}) or flat (data.labels: …).
bool assigns(const YAML::Node& node, const std::string& prefix, const std::string& key) {
  if (!node.IsMap()) return false;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) continue;
    const std::string full = (prefix.empty() ? "" : prefix + ".") + kv.first.as<std::string>();
    if (full == key || (key.rfind(full + ".", 0) == 0 && assigns(kv.second, full, key))) return true;
  }
  return false;
}

bool user_sets(const ConfigArgs& args, const std::string& key) {
  for (const auto& o : args.overrides)
    if (o.rfind(key + "=", 0) == 0) return true;
  for (const auto& file : args.files)
    if (assigns(YAML::LoadFile(file), "", key)) return true;  // already read once by load_config: valid YAML
  return false;
}

std::string listed(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ", ") + l;
  return "[" + out + "]";
}

// A scalar or list the stored config holds under section.key, if any.
YAML::Node stored_value(const YAML::Node& stored, const char* section, const char* key) {
  if (!stored.IsMap() || !stored[section] || !stored[section].IsMap()) return YAML::Node();
  return stored[section][key];
}

}  // namespace

void adopt_checkpoint_labels(EmotuneConfig& c, const ConfigArgs& args, const std::string& checkpoint, bool labels_from_config) {
  if (checkpoint.empty()) return;
  const auto info = summarize_checkpoint(checkpoint).info;
  if (info.stage != "prompt" || info.config_yaml.empty()) return;
  YAML::Node stored;
  try {
    stored = YAML::Load(info.config_yaml);
  } catch (const YAML::Exception& e) {
    raise(checkpoint, ": its stored config is not valid YAML: ", e.what());
  }
  const auto labels = stored_value(stored, "data", "labels");
  if (!labels || !labels.IsSequence()) return;
  const auto trained = labels.as<std::vector<std::string>>();
  if (user_sets(args, "data.labels")) {
    if (trained == c.data.labels) return;
    if (!labels_from_config)
      raise(checkpoint, " was trained to choose from ", listed(trained), " (data.labels of its stored config), but the config sets ",
            listed(c.data.labels), ". Leave data.labels out to use the checkpoint's, or pass --labels-from-config to rank "
            "the config's labels with it (cross-dataset evaluation)");
    std::fprintf(stderr, "labels: the config's %s, not the %s the checkpoint was trained on (--labels-from-config)\n",
                 listed(c.data.labels).c_str(), listed(trained).c_str());
    return;
  }
  if (trained != c.data.labels)
    std::fprintf(stderr, "labels: the checkpoint's %s (its stored config; set data.labels to choose others)\n", listed(trained).c_str());
  c.data.labels = trained;
  // The question it was trained with, unless the user words it anew.
  const auto question = stored_value(stored, "masp", "emotion_question");
  if (question && question.IsScalar() && !user_sets(args, "masp.emotion_question")) c.masp.emotion_question = question.as<std::string>();
  const auto style = stored_value(stored, "masp", "label_list_style");
  if (style && style.IsScalar() && !user_sets(args, "masp.label_list_style"))
    if (auto parsed = enum_from_name<LabelListStyle>(style.as<std::string>())) c.masp.label_list_style = *parsed;
}

}  // namespace emotune
