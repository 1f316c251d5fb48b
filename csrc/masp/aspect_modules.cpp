#include "masp/aspect_modules.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/fused_aspect_attention.h"

namespace emotune {

AspectBlockImpl::AspectBlockImpl(int64_t d, int64_t q) {
  // Frozen until a stage trains them (the trainer asks for gradients of what it optimises).
  query = register_parameter("query", torch::empty({q, d}), /*requires_grad=*/false);
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * d, d}), false);
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * d}), false);
  auto out_proj = register_module("out_proj", std::make_shared<torch::nn::Module>());
  out_proj_weight = out_proj->register_parameter("weight", torch::empty({d, d}), false);
  out_proj_bias = out_proj->register_parameter("bias", torch::zeros({d}), false);
}

AspectAttentionWeights AspectBlockImpl::weights() const {
  return {query, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias};
}

AspectModulesImpl::AspectModulesImpl(AspectModulesOptions o) : options_(std::move(o)) {
  if (options_.aspects.empty() || options_.dim <= 0 || options_.queries_per_aspect <= 0) raise("AspectModules: invalid options");
  auto container = register_module("aspect", std::make_shared<torch::nn::Module>());
  for (const auto& name : options_.aspects)
    blocks_.push_back(container->register_module(name, AspectBlock(options_.dim, options_.queries_per_aspect)));
  reset();
}

void AspectModulesImpl::reset() {
  const int64_t d = options_.dim;
  torch::NoGradGuard no_grad;
  for (size_t a = 0; a < blocks_.size(); ++a) {
    auto gen = at::detail::createCPUGenerator(mix_seed(options_.seed, 0xA5, a));
    auto& b = *blocks_[a];
    b.query.normal_(0.0, 1.0, gen);
    const double xavier = std::sqrt(6.0 / static_cast<double>(d + 3 * d));
    b.in_proj_weight.uniform_(-xavier, xavier, gen);
    b.in_proj_bias.zero_();
    const double bound = 1.0 / std::sqrt(static_cast<double>(d));
    b.out_proj_weight.uniform_(-bound, bound, gen);
    b.out_proj_bias.zero_();
  }
}

int64_t AspectModulesImpl::index_of(const std::string& aspect) const {
  for (size_t i = 0; i < options_.aspects.size(); ++i)
    if (options_.aspects[i] == aspect) return static_cast<int64_t>(i);
  raise("unknown aspect '", aspect, "'");
}

torch::Tensor AspectModulesImpl::forward(int64_t aspect, const torch::Tensor& visual) const {
  // Eq. 1 through the fused algebra (kernels/fused_aspect_attention.h); equal to the stock block to rounding.
  const auto w = blocks_.at(static_cast<size_t>(aspect))->weights();
  return fused_aspect_attention(fuse_aspect_weights({&w}), visual);
}

torch::Tensor AspectModulesImpl::forward_all(const torch::Tensor& visual) const {
  // One pass over V for the query tokens of every aspect at once (Eq. 3's [z_1; …; z_A]).
  std::vector<AspectAttentionWeights> weights;
  for (const auto& b : blocks_) weights.push_back(b->weights());
  std::vector<const AspectAttentionWeights*> all;
  for (const auto& w : weights) all.push_back(&w);
  return fused_aspect_attention(fuse_aspect_weights(all), visual);
}

NamedTensors AspectModulesImpl::named_tensors(int64_t aspect) const {
  NamedTensors out;
  const std::string prefix = "aspect." + options_.aspects.at(static_cast<size_t>(aspect)) + ".";
  for (const auto& p : blocks_.at(static_cast<size_t>(aspect))->named_parameters()) out[prefix + p.key()] = p.value();
  return out;
}

NamedTensors AspectModulesImpl::named_tensors() const {
  NamedTensors out;
  for (const auto& p : named_parameters()) out[p.key()] = p.value();
  return out;
}

void AspectModulesImpl::load(const NamedTensors& tensors, const std::string& source) {
  torch::NoGradGuard no_grad;
  for (auto& [name, dst] : named_tensors()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) raise(source, ": missing tensor '", name, "'");
    if (it->second.sizes() != dst.sizes())
      raise(source, ": tensor '", name, "' has shape ", it->second.sizes(), ", expected ", dst.sizes(),
            " (masp.queries_per_aspect and the bundle's hidden_size must match the checkpoint)");
    dst.set_data(it->second.to(torch::kFloat32).clone());
  }
}

void AspectModulesImpl::set_requires_grad(bool on) {
  for (auto& p : parameters()) p.set_requires_grad(on);
}

}  // namespace emotune
