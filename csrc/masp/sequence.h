// THE sequence layout of emotune (paper Eq. 2 and Eq. 4). Training, evaluation, explain-batch and every later
// method ask this file for sequences; nobody else concatenates embeddings.
//
// A sequence is a list of parts; each part is token ids (text, label) or continuous embeddings (aspect
// tokens, visual tokens, soft prompt). A batch is left-padded, so every sequence ends at the last column:
// generation appends there, and positions (cumsum(mask) - 1) are unaffected by padding.
//
// Positions (vlm.positions): "plain" — 1-D positions 0..L-1, on all three M-RoPE axes for Qwen2-VL, as the
// reference MASP code feeds them (it calls the model with embeddings only) and its checkpoints were trained;
// the bundle derives them from the mask. "mrope" — Qwen2-VL's own 3-D positions (Qwen2-VL paper Sec. 2.1,
// HF get_rope_index): each token but the visual ones takes the next 1-D position on all three axes; the
// visual tokens of one image take (t, h, w) = start + (0, row, column) of the merged grid, and what follows
// resumes at start + max(grid rows, grid columns). So aspect tokens (before V_global in the image span) and
// the soft prompt (after image_close) are 1-D "text" positions, and V_global keeps its 2-D layout.
//
//   stage 1 (Eq. 2):  [chat prefix, image_open] [z_i] [image_close, question, end of user turn, assistant] [answer]
//   stage 2 (Eq. 4), placement paper:
//                     [chat prefix, image_open] [z_1..z_A] [V_global] [image_close] [P_soft] [question …] [label]
//   placement reference (the authors' code): P_soft once after the user marker and again before the question.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/modes.h"

namespace emotune {

class FrozenVLM;

enum class Segment : uint8_t { Text = 0, Aspect, Visual, SoftPrompt, Label, Pad };
const char* segment_name(Segment s);

struct SequencePart {
  Segment segment = Segment::Text;
  std::vector<int64_t> ids;  // Text and Label parts
  torch::Tensor embeds;      // Aspect, Visual, SoftPrompt parts: [n, D]
  bool in_loss = false;      // the part's tokens are prediction targets
  // Visual parts whose tokens are a subset of the image's (SEPM's token drop): the merged-grid cell of each token,
  // ascending. Empty: every cell in order. Only mrope positions read it (a kept token keeps its (h, w)); plain
  // positions are renumbered contiguously, as the SEPM code does.
  std::vector<int64_t> grid_cells;
  int64_t length() const { return embeds.defined() ? embeds.size(0) : static_cast<int64_t>(ids.size()); }
};
using SequenceSpec = std::vector<SequencePart>;

PositionMode parse_position_mode(const std::string& name);  // "plain" | "mrope" (config/modes.h)

struct SequenceBatch {
  torch::Tensor embeds;          // [B,S,D] (VLM dtype, on the VLM device); differentiable w.r.t. continuous parts
  torch::Tensor attention_mask;  // [B,S] int64
  // plain: [B,S] int64, the 1-D positions the bundle derives itself (cumsum(mask) - 1 over prefix and rest);
  // mrope: [3,B,S] (t, h, w), which the bundle is given. Padding: 0.
  torch::Tensor position_ids;
  torch::Tensor next_position;   // [B] int64: the 1-D position a token appended to each row would take
  torch::Tensor token_ids;       // [B,S] int64, -1 at continuous positions
  torch::Tensor loss_mask;       // [B,S] bool: the token at this position is a target
  torch::Tensor segments;        // [B,S] uint8 (Segment)
  int64_t size() const { return embeds.size(0); }
  // What FrozenVLM's methods take as position_ids: the 3-D positions in mrope mode, else undefined.
  torch::Tensor model_positions() const { return position_ids.dim() == 3 ? position_ids : torch::Tensor(); }
};

struct LayoutOptions {
  std::string system_prompt = "You are a helpful assistant.";
  PromptPlacement placement = PromptPlacement::Paper;
  bool loss_on_end_of_turn = true;
  PositionMode positions = PositionMode::Plain;
};

// Where a sequence is cut into a prefix (prefilled once into a cache, FrozenVLM::prefill) and the rest.
enum class PrefixCut : uint8_t {
  BeforeSoftPrompt,  // stage 2's fast path: what precedes the first soft-prompt part never needs a gradient
  BeforeLastToken,   // label ranking: the prompt but its last token, whose logits predict the candidate
};
struct SpecSplit {
  std::vector<SequenceSpec> prefixes, rests;
};
// Every spec cut at `cut`. nullopt where a cut is impossible (no soft prompt; an empty prefix), a prefix would
// hold a loss target (it would go unscored, or scored without gradient), or the prefixes differ in length (a
// prefix cache holds no padding). The one owner of these checks: training and ranking both cut here.
std::optional<SpecSplit> split_specs(const std::vector<SequenceSpec>& specs, PrefixCut cut);

class SequenceBuilder {
 public:
  SequenceBuilder(FrozenVLM& vlm, LayoutOptions options);

  // Stage 1 (Eq. 2): only the sampled aspect's tokens stand in the image span.
  SequenceSpec aspect_question(const torch::Tensor& aspect_tokens, const std::string& question,
                               const std::string* answer) const;
  // Stage 2 (Eq. 3-5). Undefined tensors are left out (V, V+A, V+S ablations).
  SequenceSpec image_question(const torch::Tensor& aspect_tokens, const torch::Tensor& visual,
                                const torch::Tensor& soft_prompt, const std::string& question,
                                const std::string* answer) const;
  // The answer as a Label part: its tokens, plus end-of-turn when options.loss_on_end_of_turn.
  SequencePart answer_part(const std::string& answer) const;

  // Left-padded (every sequence ends at the last column), or right-padded for the part after a prefix cache;
  // then `continue_from` [B] (a prefix batch's next_position) is where row b's positions start.
  SequenceBatch assemble(const std::vector<SequenceSpec>& specs, bool pad_right = false,
                         const torch::Tensor& continue_from = {}) const;
  // The stage-2 fast path (issue 6): the parts before the first soft-prompt part — chat prefix, aspect and
  // visual tokens, image close — as one unpadded batch, and the rest (soft prompt, question, label)
  // right-padded. Positions of real tokens are those of assemble(specs). Empty when split_specs is
  // (then the plain path runs).
  struct SplitBatch {
    SequenceBatch prefix, rest;
  };
  std::optional<SplitBatch> assemble_split(const std::vector<SequenceSpec>& specs) const;

  int64_t end_of_turn_id() const { return end_of_turn_; }
  // The bundle's chat format as this builder lays a sample out, the learned parts as placeholders
  // ({visual tokens}, {soft prompt}, ...) and newlines as \n: what `emotune explain-batch` prints first.
  std::string describe_layout() const;

 private:
  // The text pieces of a one-turn conversation (vlm/bundle_spec.h, ChatTemplate): before the image span
  // (system turn, user_start, image_open), after it (image_close), and after the question (user_end,
  // assistant_start).
  struct LayoutText {
    std::string before_image, after_image, after_question;
  };
  LayoutText layout_text() const;
  SequencePart text(const std::string& s) const;
  SequenceSpec layout(const std::vector<SequencePart>& image_span, const torch::Tensor& soft_prompt,
                      const std::string& question, const std::string* answer) const;
  // Row b's positions: [3, L] in mrope mode (visual parts on the bundle's merged grid), [1, L] otherwise.
  torch::Tensor positions_of(const SequenceSpec& spec, int64_t start) const;
  // out.position_ids and out.next_position of the rows, each starting at first_column(b).
  void place_positions(const std::vector<SequenceSpec>& specs, const torch::Tensor& continue_from,
                       const std::function<int64_t(int64_t)>& first_column, SequenceBatch& out) const;
  FrozenVLM& vlm_;
  LayoutOptions options_;
  int64_t end_of_turn_;
};

// {labels} in `question` replaced by the label list, "a, b, c" (plain) or "['a', 'b', 'c']" (python, the
// reference code's rendering).
std::string render_emotion_question(const std::string& question, const std::vector<std::string>& labels,
                                    LabelListStyle style);

}  // namespace emotune
