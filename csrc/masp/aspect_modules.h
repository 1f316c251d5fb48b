// The six aspect modules of MASP stage 1 (paper §Stage 1, Eq. 1): per aspect, Q learnable query tokens and a
// single-head cross-attention block over V_global, shaped like PyTorch's nn.MultiheadAttention. A LibTorch
// module tree, so its registered parameters carry the checkpoint names of docs/checkpoints.md directly:
// aspect.<name>.query, .in_proj_weight, .in_proj_bias, .out_proj.weight, .out_proj.bias.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
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
  uint64_t seed = 0;  // the initialisation is a function of (seed, aspect index) alone
};

// One aspect's block: its query tokens and attention weights (the out_proj pair in a sub-module, so the
// names read out_proj.weight / out_proj.bias as in PyTorch).
class AspectBlockImpl : public torch::nn::Module {
 public:
  AspectBlockImpl(int64_t dim, int64_t queries);
  AspectAttentionWeights weights() const;  // the registered tensors themselves (gradients flow)
  torch::Tensor query, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias;
};
TORCH_MODULE(AspectBlock);

class AspectModulesImpl : public torch::nn::Module {
 public:
  explicit AspectModulesImpl(AspectModulesOptions options);
  // Initialises every block from the seed: as MultiheadAttention (xavier-uniform packed in-projection,
  // zero biases, out_proj weight U(-1/√D, 1/√D)); queries N(0, 1) as in the reference code.
  void reset();

  int64_t num_aspects() const { return static_cast<int64_t>(blocks_.size()); }
  int64_t queries_per_aspect() const { return options_.queries_per_aspect; }
  const std::vector<std::string>& aspects() const { return options_.aspects; }
  int64_t index_of(const std::string& aspect) const;  // throws for an unknown aspect

  // visual [B,T,D] → z_i [B,Q,D] (Eq. 1).
  torch::Tensor forward(int64_t aspect, const torch::Tensor& visual) const;
  // visual [B,T,D] → [z_1; …; z_A] [B, A·Q, D], the aspect part of V_fused (Eq. 3).
  torch::Tensor forward_all(const torch::Tensor& visual) const;

  // The registered parameters by checkpoint name.
  NamedTensors named_tensors() const;
  // Exactly the tensors named for `aspect` (stage 1 trains one at a time).
  NamedTensors named_tensors(int64_t aspect) const;
  // Loads every aspect from `tensors` (names as above) into the registered parameters, as fp32, checking
  // presence and shapes; `source` names the file.
  void load(const NamedTensors& tensors, const std::string& source);
  void set_requires_grad(bool on);

 private:
  AspectModulesOptions options_;
  std::vector<AspectBlock> blocks_;
};
TORCH_MODULE(AspectModules);

}  // namespace emotune
