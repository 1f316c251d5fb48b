// bundle.yaml: everything emotune needs to know about a frozen VLM besides its weights (docs/bundle.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace emotune {

// A chat format as the pieces SequenceBuilder lays a one-turn conversation out with (masp/sequence.h):
//   [system_start system_prompt system_end] user_start image_open <image> image_close <soft prompt> question
//   user_end assistant_start answer end_of_turn
// ChatML (Qwen2-VL): system_end = user_end = end_of_turn + turn_separator, the defaults when they are empty.
// Mistral's [INST] format (LLaVA-NeXT): no system turn (system_start empty: masp.system_prompt is not used),
// user_start "[INST] ", image_close "\n", user_end " [/INST]", end_of_turn "</s>".
struct ChatTemplate {
  std::string system_start, user_start, assistant_start, end_of_turn, turn_separator, image_open, image_close;
  std::string system_end, user_end;
  bool has_system_turn() const { return !system_start.empty(); }
  std::string closing_system() const { return system_end.empty() ? end_of_turn + turn_separator : system_end; }
  std::string closing_user() const { return user_end.empty() ? end_of_turn + turn_separator : user_end; }
};

struct BundleSpec {
  std::string dir;
  int64_t format_version = 0;
  std::string name, backend, model_file = "vlm.pt";
  int64_t hidden_size = 0, vocab_size = 0, visual_tokens = 0;
  ImageSpec image;
  std::string tokenizer_kind, tokenizer_file;
  ChatTemplate chat;
  int64_t pad_id = -1, eos_id = -1;
  // positions.kind: "plain" (the model derives 1-D positions cumsum(mask) - 1 itself; it can run
  // vlm.positions: plain only) or "mrope" (its methods also take position_ids [3,B,S], Qwen2-VL's M-RoPE, so
  // it runs either vlm.positions; image_grid is the merged grid [h, w] of one image).
  std::string positions_kind = "plain";
  std::vector<int64_t> image_grid;

  std::string path(const std::string& file) const;  // a file inside the bundle
};

// Strict: unknown keys, missing keys and wrong types are errors naming bundle.yaml and the line.
BundleSpec load_bundle_spec(const std::string& dir);

}  // namespace emotune
