#include "masp/soft_prompt.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

torch::Tensor make_soft_prompt(const SoftPromptOptions& o, FrozenVLM& vlm) {
  torch::NoGradGuard no_grad;
  const int64_t d = vlm.spec().hidden_size;
  if (o.init == "text") {
    auto ids = vlm.tokenizer().encode(o.init_text);
    if (ids.empty()) raise("masp.soft_prompt_init_text encodes to no tokens");
    std::vector<int64_t> repeated;
    for (int64_t i = 0; i < o.length; ++i) repeated.push_back(ids[static_cast<size_t>(i) % ids.size()]);
    return vlm.embed_tokens(torch::tensor(repeated).unsqueeze(0))[0].to(torch::kCPU, torch::kFloat32).clone();
  }
  int64_t n = std::min<int64_t>(4096, vlm.spec().vocab_size);
  auto table = vlm.embed_tokens(torch::arange(n, torch::kInt64).unsqueeze(0)).to(torch::kFloat32);
  double sigma = table.std().item<double>();
  auto gen = at::detail::createCPUGenerator(mix_seed(o.seed, 0x50524f4dull));
  return torch::empty({o.length, d}).normal_(0.0, sigma, gen);
}

}  // namespace emotune
