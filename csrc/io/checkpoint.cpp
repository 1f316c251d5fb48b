#include "io/checkpoint.h"

#include <filesystem>

#include "core/error.h"

namespace emotune {

void save_checkpoint(const std::string& path, const NamedTensors& tensors, const CheckpointInfo& info, Metadata extra) {
  extra["format"] = "emotune-checkpoint-1";
  extra["emotune.stage"] = info.stage;
  extra["emotune.bundle"] = info.bundle;
  extra["emotune.step"] = std::to_string(info.step);
  extra["emotune.config"] = info.config_yaml;
  save_safetensors(path, tensors, extra);
}

Checkpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) raise("checkpoint '", path, "' does not exist");
  auto content = load_safetensors(path);
  Checkpoint c;
  c.tensors = std::move(content.tensors);
  c.metadata = std::move(content.metadata);
  auto get = [&](const char* key) {
    auto it = c.metadata.find(key);
    return it == c.metadata.end() ? std::string() : it->second;
  };
  c.info.stage = get("emotune.stage");
  c.info.bundle = get("emotune.bundle");
  c.info.config_yaml = get("emotune.config");
  try {
    c.info.step = get("emotune.step").empty() ? 0 : std::stoll(get("emotune.step"));
  } catch (const std::exception&) {
    raise(path, ": metadata emotune.step is not an integer");
  }
  return c;
}

bool has_tensors_with_prefix(const NamedTensors& tensors, const std::string& prefix) {
  auto it = tensors.lower_bound(prefix);
  return it != tensors.end() && it->first.rfind(prefix, 0) == 0;
}

}  // namespace emotune
