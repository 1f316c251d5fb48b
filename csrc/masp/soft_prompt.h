// The soft prompt P_soft ∈ R^{L_p×d} of MASP stage 2 (paper §Stage 2): new tokens, not in the vocabulary,
// the only parameters stage 2 trains. Held as one [L, D] tensor, so a step never touches anything
// vocabulary-sized (the reference code instead trains the whole embedding matrix and masks its gradient).
#pragma once
#include <torch/types.h>

#include <string>

namespace emotune {

class FrozenVLM;

struct SoftPromptOptions {
  int64_t length = 32;
  std::string init = "random";  // or "text"
  std::string init_text;
  uint64_t seed = 0;
};

// "random": N(0, σ²) with σ the standard deviation of the VLM's token embeddings (measured on up to 4096
// token ids), so the prompt starts at the scale the LM expects. "text": the embeddings of init_text's
// tokens, repeated to length L.
torch::Tensor make_soft_prompt(const SoftPromptOptions& options, FrozenVLM& vlm);

}  // namespace emotune
