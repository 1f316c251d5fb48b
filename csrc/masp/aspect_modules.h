// The six aspect modules of MASP stage 1 (paper §Stage 1, Eq. 1): per aspect, Q learnable query tokens and a
// single-head cross-attention block over V_global. Checkpoint names follow the contract of docs/checkpoints.md:
// aspect.<name>.query, .in_proj_weight, .in_proj_bias, .out_proj.weight, .out_proj.bias.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "io/safetensors.h"
#include "kernels/aspect_attention.h"

namespace emotune {

struct AspectModulesOptions {
  std::vector<std::string> aspects;
  int64_t dim = 0;
  int64_t queries_per_aspect = 1;
  uint64_t seed = 0;
};

class AspectModules {
 public:
  explicit AspectModules(const AspectModulesOptions& options);

  int64_t num_aspects() const { return static_cast<int64_t>(weights_.size()); }
  int64_t queries_per_aspect() const { return options_.queries_per_aspect; }
  const std::vector<std::string>& aspects() const { return options_.aspects; }
  int64_t index_of(const std::string& aspect) const;  // throws for an unknown aspect

  // visual [B,T,D] → z_i [B,Q,D] (Eq. 1).
  torch::Tensor forward(int64_t aspect, const torch::Tensor& visual) const;
  // visual [B,T,D] → [z_1; …; z_A] [B, A·Q, D], the aspect part of V_fused (Eq. 3).
  torch::Tensor forward_all(const torch::Tensor& visual) const;

  NamedTensors named_tensors() const;
  // Exactly the tensors named for `aspect` (stage 1 trains one at a time).
  NamedTensors named_tensors(int64_t aspect) const;
  // Loads every aspect from `tensors` (names as above), checking presence and shapes; `source` names the file.
  void load(const NamedTensors& tensors, const std::string& source);
  void set_requires_grad(bool on);
  void to(torch::Device device, torch::ScalarType dtype);

 private:
  AspectModulesOptions options_;
  std::vector<AspectAttentionWeights> weights_;
};

}  // namespace emotune
