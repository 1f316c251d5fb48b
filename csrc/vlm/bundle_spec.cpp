#include "vlm/bundle_spec.h"

#include <filesystem>

#include "config/schema.h"
#include "core/error.h"

namespace emotune {

std::string BundleSpec::path(const std::string& file) const { return (std::filesystem::path(dir) / file).string(); }

BundleSpec load_bundle_spec(const std::string& dir) {
  BundleSpec b;
  b.dir = dir;
  if (!std::filesystem::is_directory(dir)) raise("bundle directory '", dir, "' does not exist");
  std::string file = b.path("bundle.yaml");
  if (!std::filesystem::exists(file)) raise(dir, ": not a bundle (no bundle.yaml; see docs/bundle.md)");
  ConfigSchema s;
  s.add("format_version", &b.format_version, "bundle format version (1)");
  s.add("name", &b.name, "bundle name, recorded in checkpoints");
  s.add("backend", &b.backend, "model backend: torchscript");
  s.add("model_file", &b.model_file, "model file inside the bundle");
  s.add("hidden_size", &b.hidden_size, "LM embedding size D");
  s.add("vocab_size", &b.vocab_size, "LM vocabulary size V");
  s.add("image.height", &b.image.height, "input height");
  s.add("image.width", &b.image.width, "input width");
  s.add("image.mean", &b.image.mean, "per-channel RGB mean");
  s.add("image.std", &b.image.std, "per-channel RGB std");
  s.add("image.visual_tokens", &b.visual_tokens, "T, tokens encode_image returns per image");
  s.add("tokenizer.kind", &b.tokenizer_kind, "sentencepiece (tokenizer.model) or bpe (a Hugging Face byte-level BPE tokenizer.json)");
  s.add("tokenizer.file", &b.tokenizer_file, "tokenizer file inside the bundle");
  s.add("chat_template.system_start", &b.chat.system_start, "opens the system turn; empty: the format has none");
  s.add("chat_template.user_start", &b.chat.user_start, "opens the user turn");
  s.add("chat_template.assistant_start", &b.chat.assistant_start, "opens the assistant turn");
  s.add("chat_template.end_of_turn", &b.chat.end_of_turn, "closes a turn; must be one token");
  s.add("chat_template.turn_separator", &b.chat.turn_separator, "text between turns");
  s.add("chat_template.image_open", &b.chat.image_open, "marker before the image span");
  s.add("chat_template.image_close", &b.chat.image_close, "marker after the image span");
  s.add("chat_template.system_end", &b.chat.system_end, "closes the system turn (default: end_of_turn + turn_separator)");
  s.add("chat_template.user_end", &b.chat.user_end, "closes the user turn (default: end_of_turn + turn_separator; Mistral: ' [/INST]')");
  s.add_choice("positions.kind", &b.positions_kind, {"plain", "mrope"},
               "plain: 1-D positions cumsum(mask) - 1, derived by the model; mrope: the methods also take position_ids [3,B,S]");
  s.add("positions.image_grid", &b.image_grid, "mrope only: the merged visual grid [h, w] of one image (h * w = visual_tokens)");
  s.add("special_tokens.pad", &b.pad_id, "padding token id");
  s.add("special_tokens.eos", &b.eos_id, "end-of-sequence token id");
  s.apply_file(file);
  auto require = [&](bool ok, const char* key, const char* what) {
    if (!ok) raise(file, ": key '", key, "' is missing or invalid (expected ", what, ")");
  };
  require(b.format_version == 1, "format_version", "1");
  require(!b.name.empty(), "name", "a name");
  require(b.backend == "torchscript", "backend", "torchscript");
  require(b.hidden_size > 0, "hidden_size", "a positive integer");
  require(b.vocab_size > 0, "vocab_size", "a positive integer");
  require(b.image.height > 0 && b.image.width > 0, "image.height/image.width", "positive integers");
  require(b.image.mean.size() == 3 && b.image.std.size() == 3, "image.mean/image.std", "three numbers each");
  for (double v : b.image.std) require(v > 0, "image.std", "positive numbers");
  require(b.visual_tokens > 0, "image.visual_tokens", "a positive integer");
  require(b.tokenizer_kind == "sentencepiece" || b.tokenizer_kind == "bpe", "tokenizer.kind", "sentencepiece or bpe");
  require(!b.tokenizer_file.empty(), "tokenizer.file", "a file name");
  require(!b.chat.end_of_turn.empty(), "chat_template.end_of_turn", "a marker");
  require(b.pad_id >= 0 && b.pad_id < b.vocab_size, "special_tokens.pad", "a token id below vocab_size");
  require(b.eos_id >= 0 && b.eos_id < b.vocab_size, "special_tokens.eos", "a token id below vocab_size");
  if (b.positions_kind == "mrope")
    require(b.image_grid.size() == 2 && b.image_grid[0] > 0 && b.image_grid[1] > 0 &&
                b.image_grid[0] * b.image_grid[1] == b.visual_tokens,
            "positions.image_grid", "[h, w] with h * w = image.visual_tokens");
  else
    require(b.image_grid.empty(), "positions.image_grid", "no grid unless positions.kind is mrope");
  return b;
}

}  // namespace emotune
