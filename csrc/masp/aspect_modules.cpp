#include "masp/aspect_modules.h"

#include "kernels/fused_aspect_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace emotune {
namespace {
const char* kSuffixes[] = {"query", "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"};

torch::Tensor* field(AspectAttentionWeights& w, int i) {
  torch::Tensor* fields[] = {&w.query, &w.in_proj_weight, &w.in_proj_bias, &w.out_proj_weight, &w.out_proj_bias};
  return fields[i];
}
}  // namespace

AspectModules::AspectModules(const AspectModulesOptions& o) : options_(o) {
  if (o.aspects.empty() || o.dim <= 0 || o.queries_per_aspect <= 0) raise("AspectModules: invalid options");
  const int64_t d = o.dim;
  for (size_t a = 0; a < o.aspects.size(); ++a) {
    // Initialisation as PyTorch's MultiheadAttention: xavier-uniform packed in-projection, zero biases,
    // out_proj weight U(-1/√D, 1/√D); queries from N(0, 1) as in the reference code.
    auto gen = at::detail::createCPUGenerator(mix_seed(o.seed, 0xA5, a));
    AspectAttentionWeights w;
    w.query = torch::empty({o.queries_per_aspect, d}).normal_(0.0, 1.0, gen);
    double xavier = std::sqrt(6.0 / static_cast<double>(d + 3 * d));
    w.in_proj_weight = torch::empty({3 * d, d}).uniform_(-xavier, xavier, gen);
    w.in_proj_bias = torch::zeros({3 * d});
    double bound = 1.0 / std::sqrt(static_cast<double>(d));
    w.out_proj_weight = torch::empty({d, d}).uniform_(-bound, bound, gen);
    w.out_proj_bias = torch::zeros({d});
    weights_.push_back(w);
  }
}

int64_t AspectModules::index_of(const std::string& aspect) const {
  for (size_t i = 0; i < options_.aspects.size(); ++i)
    if (options_.aspects[i] == aspect) return static_cast<int64_t>(i);
  raise("unknown aspect '", aspect, "'");
}

torch::Tensor AspectModules::forward(int64_t aspect, const torch::Tensor& visual) const {
  // Eq. 1 through the fused algebra (kernels/fused_aspect_attention.h); equal to the stock block to rounding.
  const auto& w = weights_.at(static_cast<size_t>(aspect));
  return fused_aspect_attention(fuse_aspect_weights({&w}), visual);
}

torch::Tensor AspectModules::forward_all(const torch::Tensor& visual) const {
  // One pass over V for the query tokens of every aspect at once (Eq. 3's [z_1; …; z_A]).
  std::vector<const AspectAttentionWeights*> all;
  for (const auto& w : weights_) all.push_back(&w);
  return fused_aspect_attention(fuse_aspect_weights(all), visual);
}

NamedTensors AspectModules::named_tensors(int64_t aspect) const {
  NamedTensors out;
  auto w = weights_.at(static_cast<size_t>(aspect));
  for (int i = 0; i < 5; ++i) out["aspect." + options_.aspects[aspect] + "." + kSuffixes[i]] = *field(w, i);
  return out;
}

NamedTensors AspectModules::named_tensors() const {
  NamedTensors out;
  for (int64_t a = 0; a < num_aspects(); ++a) out.merge(named_tensors(a));
  return out;
}

void AspectModules::load(const NamedTensors& tensors, const std::string& source) {
  for (int64_t a = 0; a < num_aspects(); ++a) {
    auto& w = weights_[static_cast<size_t>(a)];
    for (int i = 0; i < 5; ++i) {
      auto name = "aspect." + options_.aspects[a] + "." + kSuffixes[i];
      auto it = tensors.find(name);
      if (it == tensors.end()) raise(source, ": missing tensor '", name, "'");
      torch::Tensor* dst = field(w, i);
      if (it->second.sizes() != dst->sizes())
        raise(source, ": tensor '", name, "' has shape ", it->second.sizes(), ", expected ", dst->sizes(),
              " (masp.queries_per_aspect and the bundle's hidden_size must match the checkpoint)");
      *dst = it->second.to(torch::kFloat32).clone();
    }
  }
}

void AspectModules::set_requires_grad(bool on) {
  for (auto& w : weights_)
    for (int i = 0; i < 5; ++i) field(w, i)->set_requires_grad(on);
}

void AspectModules::to(torch::Device device, torch::ScalarType dtype) {
  for (auto& w : weights_)
    for (int i = 0; i < 5; ++i) {
      const bool grad = field(w, i)->requires_grad();
      *field(w, i) = field(w, i)->detach().to(device, dtype).requires_grad_(grad);
    }
}

}  // namespace emotune
