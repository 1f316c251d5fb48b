// The TorchScript backend of FrozenVLM. TorchScript is deprecated upstream; this file is the only one that
// includes torch/script.h, so another backend replaces it without touching the rest of emotune.
#include <torch/script.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>

#include <filesystem>

#include "core/error.h"
#include "vlm/bpe_tokenizer.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

torch::Tensor FrozenVLM::forward_rows(const torch::Tensor& embeds, const torch::Tensor& attention_mask,
                                      const torch::Tensor& rows, const torch::Tensor& position_ids) {
  return forward(embeds, attention_mask, position_ids).index({rows});
}

torch::Tensor FrozenVLM::last_attention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  raise(spec_.path(spec_.model_file), ": the bundle has no 'last_attention' method (optional; docs/bundle.md), "
        "which the soft-prompt -> aspect attention plot needs");
}

FrozenVLM::PrefixCache FrozenVLM::prefill(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  raise(spec_.path(spec_.model_file), ": the bundle has no 'prefill'/'hidden_states_cached' methods (optional; docs/bundle.md)");
}

torch::Tensor FrozenVLM::forward_rows_after(const PrefixCache&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                            const torch::Tensor&) {
  raise(spec_.path(spec_.model_file), ": the bundle has no 'prefill'/'hidden_states_cached' methods (optional; docs/bundle.md)");
}

FrozenVLM::PrefixCache FrozenVLM::repeat_prefix(const PrefixCache& prefix, int64_t times) const {
  PrefixCache out;
  for (const auto& t : prefix.layers) out.layers.push_back(t.repeat_interleave(times, 0));
  out.attention_mask = prefix.attention_mask.repeat_interleave(times, 0);
  return out;
}

namespace {

class TorchScriptVLM final : public FrozenVLM {
 public:
  TorchScriptVLM(BundleSpec spec, std::unique_ptr<Tokenizer> tokenizer, int64_t end_of_turn_id,
                 const VlmLoadOptions& options) {
    spec_ = std::move(spec);
    tokenizer_ = std::move(tokenizer);
    end_of_turn_id_ = end_of_turn_id;
    device_ = options.device;
    dtype_ = options.dtype;
    std::string file = spec_.path(spec_.model_file);
    if (!std::filesystem::exists(file)) raise(file, ": model file not found");
    // The optimising executor fuses and re-specialises after warm-up runs, which changes floating-point
    // results between otherwise identical calls; emotune needs calls to be reproducible (padding
    // invariance, exact resume), and the work is dominated by matrix products anyway.
    torch::jit::setGraphExecutorOptimize(false);
    try {
      module_ = torch::jit::load(file, device_);
    } catch (const c10::Error& e) {
      raise(file, ": cannot load TorchScript module: ", e.what_without_backtrace());
    }
    module_.eval();
    module_.to(dtype_);
    for (auto p : module_.parameters()) p.set_requires_grad(false);
    for (const char* name : {"encode_image", "embed_tokens", "forward"})
      if (!module_.find_method(name)) raise(file, ": the TorchScript module has no method '", name, "' (docs/bundle.md)");
    has_rows_ = module_.find_method("hidden_states").has_value() && module_.find_method("project_logits").has_value();
    has_attention_ = module_.find_method("last_attention").has_value();
    has_prefix_ = has_rows_ && module_.find_method("prefill").has_value() && module_.find_method("hidden_states_cached").has_value();
    // An mrope bundle's decoder methods take position_ids as their last argument (docs/bundle.md).
    if (spec_.positions_kind == "mrope")
      for (const char* name : {"forward", "hidden_states", "last_attention", "prefill", "hidden_states_cached"}) {
        auto method = module_.find_method(name);
        if (!method) continue;
        const auto& args = method->function().getSchema().arguments();
        if (args.empty() || args.back().name() != "position_ids")
          raise(file, ": bundle.yaml says positions.kind: mrope but method '", name, "' takes no 'position_ids' argument");
      }
  }

  bool has_last_attention() const override { return has_attention_; }
  bool has_prefix_cache() const override { return has_prefix_; }
  PrefixCache prefill(const torch::Tensor& embeds, const torch::Tensor& mask, const torch::Tensor& positions) override {
    if (!has_prefix_) return FrozenVLM::prefill(embeds, mask, positions);
    torch::NoGradGuard no_grad;
    auto list = call("prefill", {embeds.to(dtype_), mask.to(device_)}, positions).toTensorVector();
    return {std::move(list), mask.to(device_)};
  }
  torch::Tensor forward_rows_after(const PrefixCache& prefix, const torch::Tensor& embeds, const torch::Tensor& mask,
                                   const torch::Tensor& rows, const torch::Tensor& positions) override {
    if (!has_prefix_) return FrozenVLM::forward_rows_after(prefix, embeds, mask, rows, positions);
    auto full_mask = torch::cat({prefix.attention_mask, mask.to(device_)}, 1);
    auto hidden = call("hidden_states_cached", {c10::List<torch::Tensor>(prefix.layers), embeds.to(dtype_), full_mask}, positions).toTensor();
    return module_.get_method("project_logits")({hidden.index({rows.to(device_)})}).toTensor();
  }
  torch::Tensor last_attention(const torch::Tensor& embeds, const torch::Tensor& mask, const torch::Tensor& positions) override {
    if (!has_attention_) return FrozenVLM::last_attention(embeds, mask, positions);
    return call("last_attention", {embeds.to(dtype_), mask.to(device_)}, positions).toTensor();
  }

  torch::Tensor encode_image(const torch::Tensor& pixels) override {
    return module_.get_method("encode_image")({pixels.to(device_, dtype_)}).toTensor();
  }
  torch::Tensor embed_tokens(const torch::Tensor& ids) override {
    return module_.get_method("embed_tokens")({ids.to(device_)}).toTensor();
  }
  torch::Tensor forward(const torch::Tensor& embeds, const torch::Tensor& mask, const torch::Tensor& positions) override {
    return call("forward", {embeds.to(dtype_), mask.to(device_)}, positions).toTensor();
  }
  torch::Tensor forward_rows(const torch::Tensor& embeds, const torch::Tensor& mask, const torch::Tensor& rows,
                             const torch::Tensor& positions) override {
    if (!has_rows_) return FrozenVLM::forward_rows(embeds, mask, rows, positions);
    auto hidden = call("hidden_states", {embeds.to(dtype_), mask.to(device_)}, positions).toTensor();
    return module_.get_method("project_logits")({hidden.index({rows.to(device_)})}).toTensor();
  }

  // One tiny forward of every method, checked against bundle.yaml.
  void validate() {
    const auto& s = spec_;
    std::string file = s.path(s.model_file);
    auto shape_error = [&](const char* method, const torch::Tensor& t, const std::string& expected) {
      raise(file, ": ", method, " returned shape ", t.sizes(), ", expected ", expected, " (bundle.yaml: ", s.path("bundle.yaml"), ")");
    };
    torch::NoGradGuard no_grad;
    try {
      auto v = encode_image(torch::zeros({1, 3, s.image.height, s.image.width}));
      if (v.dim() != 3 || v.size(1) != s.visual_tokens || v.size(2) != s.hidden_size)
        shape_error("encode_image", v, concat("[1, ", s.visual_tokens, " (image.visual_tokens), ", s.hidden_size, " (hidden_size)]"));
      auto e = embed_tokens(torch::tensor({{s.pad_id, s.eos_id}}, torch::kInt64));
      if (e.dim() != 3 || e.size(1) != 2 || e.size(2) != s.hidden_size)
        shape_error("embed_tokens", e, concat("[1, 2, ", s.hidden_size, " (hidden_size)]"));
      torch::Tensor positions;  // an mrope bundle is run with explicit positions too
      if (s.positions_kind == "mrope") positions = torch::arange(2, torch::kInt64).expand({3, 1, 2});
      auto l = forward(e, torch::ones({1, 2}, torch::kInt64), positions);
      if (l.dim() != 3 || l.size(1) != 2 || l.size(2) != s.vocab_size)
        shape_error("forward", l, concat("[1, 2, ", s.vocab_size, " (vocab_size)]"));
    } catch (const c10::Error& e) {
      raise(file, ": running the model's methods failed: ", e.what_without_backtrace());
    }
  }

 private:
  // A decoder method with the caller's position_ids appended when given; only mrope bundles take them.
  c10::IValue call(const char* method, std::vector<c10::IValue> inputs, const torch::Tensor& positions) {
    if (positions.defined()) {
      if (spec_.positions_kind != "mrope")
        raise(spec_.path("bundle.yaml"), ": position_ids were given (vlm.positions: mrope) but the bundle's "
              "positions.kind is '", spec_.positions_kind, "', whose model derives positions from the mask (docs/bundle.md)");
      if (positions.dim() != 3 || positions.size(0) != 3)
        raise("internal: position_ids for ", method, " must be [3,B,S], got ", positions.sizes());
      inputs.emplace_back(positions.to(device_, torch::kInt64));
    }
    return module_.get_method(method)(std::move(inputs));
  }

  torch::jit::script::Module module_;
  bool has_attention_ = false;
  bool has_rows_ = false;
  bool has_prefix_ = false;
};

// Looked up as a special token first: encode() of a dummy-prefix SentencePiece model gives "▁" before it, and
// a control piece (Mistral's "</s>") is never produced from text at all.
int64_t end_of_turn_token(const BundleSpec& spec, const Tokenizer& tokenizer) {
  const auto& marker = spec.chat.end_of_turn;
  if (auto id = tokenizer.special_token_id(marker)) return *id;
  auto ids = tokenizer.encode(marker);
  if (ids.size() != 1)
    raise(spec.path("bundle.yaml"), ": chat_template.end_of_turn '", marker, "' is neither a special token of ",
          spec.tokenizer_file, " (an added token, or a control or user-defined piece) nor a single token (it encodes to ",
          ids.size(), ")");
  return ids[0];
}

}  // namespace

std::unique_ptr<FrozenVLM> load_frozen_vlm(const std::string& bundle_dir, const VlmLoadOptions& options) {
  auto spec = load_bundle_spec(bundle_dir);
  auto tokenizer = spec.tokenizer_kind == "bpe" ? load_bpe_tokenizer(spec.path(spec.tokenizer_file))
                                                : load_sentencepiece_tokenizer(spec.path(spec.tokenizer_file));
  if (tokenizer->size() > spec.vocab_size)
    raise(spec.path(spec.tokenizer_file), ": tokenizer has ", tokenizer->size(), " pieces but bundle.yaml vocab_size is ", spec.vocab_size);
  const int64_t end_of_turn = end_of_turn_token(spec, *tokenizer);
  // fp32 on CUDA means fp32: cuDNN's default TF32 convolutions (the vision towers' patch embeddings) would round
  // to 10 mantissa bits and put the features ~1e-3 off the CPU's (cuBLAS matmuls are fp32 by default already).
  if (options.device.is_cuda() && options.dtype == torch::kFloat32) at::globalContext().setAllowTF32CuDNN(false);
  auto vlm = std::make_unique<TorchScriptVLM>(std::move(spec), std::move(tokenizer), end_of_turn, options);
  vlm->validate();
  return vlm;
}

}  // namespace emotune
