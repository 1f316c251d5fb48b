// safetensors: the header and byte ranges of a checkpoint or a bundle's weights (io/safetensors.h).
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>

#include "fuzz_target.h"
#include "io/safetensors.h"

namespace {
bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  auto x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), static_cast<size_t>(x.nbytes())) == 0;
}
}  // namespace

EMOTUNE_FUZZ_TARGET(safetensors) {
  using namespace emotune;
  // The header-only index reads the same header from a file.
  try {
    read_safetensors_index(fuzz::scratch_file("index.safetensors", input));
  } catch (const Error&) {
  }
  auto content = parse_safetensors(input, "fuzz.safetensors");
  // What was accepted writes back and reads again as the same tensors and metadata.
  auto again = parse_safetensors(serialize_safetensors(content.tensors, content.metadata), "round trip");
  if (again.metadata != content.metadata || again.tensors.size() != content.tensors.size()) std::abort();
  for (const auto& [name, tensor] : content.tensors)
    if (!again.tensors.count(name) || !same_bytes(tensor, again.tensors.at(name))) std::abort();
}
