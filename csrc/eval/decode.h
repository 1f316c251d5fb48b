// The two ways emotune reads an answer from the frozen LM:
//  - greedy generation, scored by exact match of the lower-cased first line (the MASP paper's protocol);
//  - label ranking: every candidate answer is scored by its log-likelihood and the best one wins (no parse
//    failures, and a calibrated view of what the model prefers).
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "masp/sequence.h"

namespace emotune {

class FrozenVLM;

// Decoded continuations, stopped at end-of-turn, eos or max_new_tokens.
std::vector<std::string> generate_greedy(FrozenVLM& vlm, const SequenceBuilder& builder,
                                         const std::vector<SequenceSpec>& prompts, int64_t max_new_tokens);
// [n_prompts, n_candidates] Σ log p(candidate tokens [+ end of turn] | prompt).
torch::Tensor score_candidates(FrozenVLM& vlm, const SequenceBuilder& builder, const std::vector<SequenceSpec>& prompts,
                               const std::vector<std::string>& candidates, int64_t batch_size);
// First line, surrounding whitespace removed, lower-cased.
std::string normalise_answer(const std::string& text);
// Whether a generated aspect answer states the annotated one: equal after normalise_answer, where a list
// ("balloon, gift": EmoSet's objects) matches the same items in any order, since an annotation's list order
// is not visible in the image.
bool aspect_answer_matches(const std::string& generated, const std::string& annotated);

}  // namespace emotune
