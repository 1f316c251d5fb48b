// emotune checkpoints: safetensors files (docs/checkpoints.md) whose metadata records the stage, the bundle,
// the step and the full resolved config. Written atomically.
#pragma once
#include <string>

#include "io/safetensors.h"

namespace emotune {

struct CheckpointInfo {
  std::string stage;   // "aspects" (stage 1) or "prompt" (stage 2)
  std::string bundle;  // bundle name
  int64_t step = 0;
  std::string config_yaml;
};

struct Checkpoint {
  NamedTensors tensors;
  CheckpointInfo info;
  Metadata metadata;  // everything in __metadata__, the info fields included
};

void save_checkpoint(const std::string& path, const NamedTensors& tensors, const CheckpointInfo& info,
                     Metadata extra = {});
Checkpoint load_checkpoint(const std::string& path);
// Stage and tensor names from the header alone (no tensor data is read).
struct CheckpointSummary {
  CheckpointInfo info;
  std::vector<std::string> tensor_names;
  bool has(const std::string& name) const;
  bool has_prefix(const std::string& prefix) const;
};
CheckpointSummary summarize_checkpoint(const std::string& path);
// The tensors under `prefix` ("aspect." …), as a convenience for loaders.
bool has_tensors_with_prefix(const NamedTensors& tensors, const std::string& prefix);

}  // namespace emotune
