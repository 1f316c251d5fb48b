#include "io/checkpoint.h"

#include <algorithm>
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

namespace {
CheckpointInfo info_from(const Metadata& metadata, const std::string& path) {
  auto get = [&](const char* key) {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
  };
  CheckpointInfo info;
  info.stage = get("emotune.stage");
  info.bundle = get("emotune.bundle");
  info.config_yaml = get("emotune.config");
  try {
    info.step = get("emotune.step").empty() ? 0 : std::stoll(get("emotune.step"));
  } catch (const std::exception&) {
    raise(path, ": metadata emotune.step is not an integer");
  }
  return info;
}
}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) raise("checkpoint '", path, "' does not exist");
  auto content = load_safetensors(path);
  Checkpoint c;
  c.tensors = std::move(content.tensors);
  c.metadata = std::move(content.metadata);
  c.info = info_from(c.metadata, path);
  return c;
}

CheckpointSummary summarize_checkpoint(const std::string& path) {
  if (!std::filesystem::exists(path)) raise("checkpoint '", path, "' does not exist");
  auto index = read_safetensors_index(path);
  CheckpointSummary s;
  s.info = info_from(index.metadata, path);
  for (const auto& [name, shape] : index.shapes) s.tensor_names.push_back(name);
  return s;
}

bool CheckpointSummary::has(const std::string& name) const {
  return std::find(tensor_names.begin(), tensor_names.end(), name) != tensor_names.end();
}

bool CheckpointSummary::has_prefix(const std::string& prefix) const {
  for (const auto& n : tensor_names)
    if (n.rfind(prefix, 0) == 0) return true;
  return false;
}

bool has_tensors_with_prefix(const NamedTensors& tensors, const std::string& prefix) {
  auto it = tensors.lower_bound(prefix);
  return it != tensors.end() && it->first.rfind(prefix, 0) == 0;
}

}  // namespace emotune
