// The frozen VLM as the rest of emotune sees it: four operations on tensors plus a tokenizer and the bundle
// description. Nothing outside csrc/vlm/ knows which backend (today TorchScript) implements them.
// No parameter of the VLM ever requires grad; gradients flow *through* it to the inputs (aspect tokens,
// soft prompt) only.
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "vlm/bundle_spec.h"
#include "vlm/tokenizer.h"

namespace emotune {

class FrozenVLM {
 public:
  virtual ~FrozenVLM() = default;
  const BundleSpec& spec() const { return spec_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  // chat_template.end_of_turn as one token id (the answer's last loss target): a special token of the
  // tokenizer, else a text that encodes to exactly one token; load_frozen_vlm refuses a bundle with neither.
  int64_t end_of_turn_id() const { return end_of_turn_id_; }

  // pixels [B,3,H,W] → V_global [B,T,D], already in the LM embedding space (after projector/merger).
  virtual torch::Tensor encode_image(const torch::Tensor& pixels) = 0;
  // ids [B,S] int64 → embeddings [B,S,D].
  virtual torch::Tensor embed_tokens(const torch::Tensor& ids) = 0;
  // embeds [B,S,D], attention_mask [B,S] int64 (1 = real token) → logits [B,S,V].
  // position_ids: undefined, the model's positions are cumsum(mask) - 1 (left padding does not shift them);
  // or [3,B,S] M-RoPE positions (t, h, w), for bundles whose bundle.yaml says positions.kind: mrope
  // (SequenceBatch::model_positions() gives what to pass). Every decoder method below takes them alike.
  virtual torch::Tensor forward(const torch::Tensor& embeds, const torch::Tensor& attention_mask,
                                const torch::Tensor& position_ids = {}) = 0;
  // Logits only at the positions where `rows` [B,S] (bool) is true → [N,V], in row-major order. Backends
  // that can project selected hidden states avoid the full [B,S,V] tensor (large for 150k vocabularies).
  virtual torch::Tensor forward_rows(const torch::Tensor& embeds, const torch::Tensor& attention_mask,
                                     const torch::Tensor& rows, const torch::Tensor& position_ids = {});
  // Optional: the last decoder layer's attention probabilities [B,H,S,S] (query, key), for the soft-prompt ->
  // aspect attention of MASP's Figure 4. Bundles without it raise a clear error.
  virtual bool has_last_attention() const { return false; }
  virtual torch::Tensor last_attention(const torch::Tensor& embeds, const torch::Tensor& attention_mask,
                                       const torch::Tensor& position_ids = {});

  // Optional prefix cache (the stage-2 fast path, issue 6): the keys/values of a prefix computed once, then
  // logits of the positions after it. In a causal LM the prefix does not depend on what follows, so
  // prefill() runs without gradient and only the rest is differentiated.
  struct PrefixCache {
    std::vector<torch::Tensor> layers;  // backend-defined (TorchScript: k_0, v_0, k_1, v_1, …)
    torch::Tensor attention_mask;       // [B,P] of the prefix
  };
  virtual bool has_prefix_cache() const { return false; }
  virtual PrefixCache prefill(const torch::Tensor& embeds, const torch::Tensor& attention_mask,
                              const torch::Tensor& position_ids = {});
  // Logits [N,V] at `rows` [B,S] of the positions after the prefix; attention_mask [B,S] covers them only,
  // and so do position_ids [3,B,S] when given.
  virtual torch::Tensor forward_rows_after(const PrefixCache& prefix, const torch::Tensor& embeds,
                                           const torch::Tensor& attention_mask, const torch::Tensor& rows,
                                           const torch::Tensor& position_ids = {});
  // Each prefix row repeated `times` times in a row (rows b0, b0, ..., b1, b1, ...), so that several
  // continuations of one prefix (label ranking's candidates) share one prefill. The default repeats dim 0 of
  // every cache tensor; a backend whose cache is not batch-first overrides it.
  virtual PrefixCache repeat_prefix(const PrefixCache& prefix, int64_t times) const;

 protected:
  BundleSpec spec_;
  std::unique_ptr<Tokenizer> tokenizer_;
  torch::Device device_{torch::kCPU};
  torch::ScalarType dtype_ = torch::kFloat32;
  int64_t end_of_turn_id_ = -1;
};

struct VlmLoadOptions {
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat32;
};

// Loads and validates a bundle directory: bundle.yaml, the tokenizer, the model, its methods and their
// output shapes. Every mismatch is an error naming the file and what disagrees.
std::unique_ptr<FrozenVLM> load_frozen_vlm(const std::string& bundle_dir, const VlmLoadOptions& options = {});

}  // namespace emotune
