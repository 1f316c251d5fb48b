// The safetensors format (an 8-byte little-endian header length, a JSON header of name → dtype, shape,
// byte offsets, plus "__metadata__" string pairs, then the raw little-endian data), read and written here
// directly: it is small and fully specified, and reading validates every offset so a truncated or corrupt
// file is an error naming the file, never a crash.
#pragma once
#include <torch/types.h>

#include <map>
#include <string>

namespace emotune {

using NamedTensors = std::map<std::string, torch::Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContent {
  NamedTensors tensors;
  Metadata metadata;
};

std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata);
SafetensorsContent parse_safetensors(const std::string& bytes, const std::string& source);
// Written atomically (core/atomic_file).
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});
SafetensorsContent load_safetensors(const std::string& path);

// What a file holds without reading its tensor data: names → shapes, and the metadata.
struct SafetensorsIndex {
  std::map<std::string, std::vector<int64_t>> shapes;
  Metadata metadata;
};
SafetensorsIndex read_safetensors_index(const std::string& path);

}  // namespace emotune
