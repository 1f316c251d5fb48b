// SEPM's two-pass inference (paper 003, Algorithm 1) over any bundle and any stage-2 model (zero-shot V, V+S,
// V+A+S): a batch of images goes through both passes together.
//   coarse pass: [image span][soft prompt]["Please focus on emotion." + Q_c]; the next-token softmax over the
//     whole vocabulary gives pA, pB (Eq. 3), their variance the confidence (Eq. 4); the last layer's attention
//     (the bundle's last_attention) from the FoE tokens to the visual tokens scores each visual token (Eq. 5-8);
//   fine pass: the ⌊β·N⌋ least attended tokens removed (Eq. 9-10), Q_f listing the predicted polarity's options
//     (confident) or all of them with the ambiguity note; the answer is one option letter.
// The pure parts live in eval/sepm.h; this file lays out the sequences (through masp/sequence) and runs the model.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <string>
#include <vector>

#include "config/modes.h"
#include "eval/label_polarity.h"
#include "masp/sequence.h"

namespace emotune {

struct EmotuneConfig;
struct EmotionModel;
class Tokenizer;

struct SepmOptions {
  double alpha = 0.1, beta = 0.2;
  SepmVariance variance = SepmVariance::Paper;
  SepmDropOver drop_over = SepmDropOver::Visual;
  bool ambiguity_note = true;
  // rank: the kept option whose letter is likeliest as the fine answer's first token (never invalid); generate:
  // greedy decoding, the answer must be exactly one kept letter (the authors' code), else it is counted invalid.
  EvalMode answer = EvalMode::Rank;
  int64_t max_new_tokens = 8;
};
// sepm.*, eval.mode and eval.max_new_tokens.
SepmOptions sepm_options(const EmotuneConfig& config);

// What SEPM did with one image: what `predict` prints and `eval` writes beside each prediction.
struct SepmTrace {
  double p_a = 0, p_b = 0, confidence = 0;
  Polarity polarity = Polarity::Positive;  // the coarse answer: A (positive) when pA >= pB
  bool confident = false;                  // confidence > alpha (Algorithm 1)
  std::vector<bool> kept;                  // the fine query's options, per label
  // The drop's candidates are the aspect tokens (sepm.drop_over: visual_and_aspects) then the visual tokens;
  // scores holds P̄ (Eq. 8) of each, dropped the indices removed from each part, ascending.
  std::vector<double> aspect_scores, visual_scores;
  std::vector<int64_t> dropped_aspects, dropped_visual;
  // [rows, columns] of the visual tokens on the image (the bundle's merged grid, or a square of N_v tokens); empty
  // where they lie on no grid (LLaVA-NeXT's tiles and row ends). The report draws the scores on it.
  std::vector<int64_t> visual_grid;
  std::vector<float> letter_log_probs;  // rank answers: log p(option letter) at the fine answer's first token, per label
  std::string answer;                   // the chosen letter (rank) or the generated text (generate)
  int64_t label = -1;                   // the answer's label; -1: not a kept option's letter
  nlohmann::json to_json(const std::vector<std::string>& labels) const;
};

class SepmPredictor {
 public:
  // Refuses label sets without both polarities and tokenizers that split an option letter.
  SepmPredictor(const EmotionModel& model, SepmOptions options);
  // visual [n,T,D]; aspect_tokens [n,A,D] or undefined; prompts: one soft prompt per image (undefined: the model's),
  // or empty.
  std::vector<SepmTrace> predict(const torch::Tensor& visual, const torch::Tensor& aspect_tokens,
                                 const std::vector<torch::Tensor>& prompts = {}) const;
  // The passes' sequences (explain-batch shows them). fine_specs needs the coarse pass's traces.
  std::vector<SequenceSpec> coarse_specs(const torch::Tensor& visual, const torch::Tensor& aspect_tokens,
                                         const std::vector<torch::Tensor>& prompts = {}) const;
  std::vector<SequenceSpec> fine_specs(const torch::Tensor& visual, const torch::Tensor& aspect_tokens,
                                       const std::vector<SepmTrace>& traces, const std::vector<torch::Tensor>& prompts = {}) const;
  const SepmOptions& options() const { return options_; }

 private:
  // The coarse pass: pA, pB, confidence, polarity, and (beta > 0) the scores and the drop set of every image.
  std::vector<SepmTrace> coarse_pass(const std::vector<SequenceSpec>& specs) const;
  void fine_pass(const std::vector<SequenceSpec>& specs, std::vector<SepmTrace>& traces) const;
  torch::Tensor prompt_of(const std::vector<torch::Tensor>& prompts, size_t i) const;

  const EmotionModel& model_;
  SepmOptions options_;
  std::string coarse_question_;
  std::vector<int64_t> letter_ids_;  // the token of 'A' + k, per label
};

// The columns of `spec`'s Focus-on-Emotion tokens without the sentence's first word (the SEPM code's rows of the
// drop matrix), when the sequence starts at `first_column` of its batch row. Raises when the sentence is absent.
std::vector<int64_t> focus_on_emotion_columns(const SequenceSpec& spec, const Tokenizer& tokenizer, int64_t first_column);

}  // namespace emotune
