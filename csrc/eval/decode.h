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

// Decoded continuations, stopped at end-of-turn, eos or max_new_tokens. With use_prefix_cache and a bundle that
// has one, the prompts are prefilled once and each step runs only the new positions (the same tokens as
// recomputing the whole sequence per step; tests/eval/test_decode.cpp).
std::vector<std::string> generate_greedy(FrozenVLM& vlm, const SequenceBuilder& builder,
                                         const std::vector<SequenceSpec>& prompts, int64_t max_new_tokens,
                                         bool use_prefix_cache = true);
// [n_prompts, n_candidates] Σ log p(candidate tokens [+ end of turn] | prompt). With use_prefix_cache and a
// bundle that has one, a batch of equally long prompts is prefilled once and only its last token and the
// candidates run per candidate (the same scores to float rounding; tests/eval/test_decode.cpp).
torch::Tensor score_candidates(FrozenVLM& vlm, const SequenceBuilder& builder, const std::vector<SequenceSpec>& prompts,
                               const std::vector<std::string>& candidates, int64_t batch_size,
                               bool use_prefix_cache = true);
// First line, surrounding whitespace removed, lower-cased.
std::string normalise_answer(const std::string& text);
// Whether a generated aspect answer states the annotated one: equal after normalise_answer, where a list
// ("balloon, gift": EmoSet's objects) matches the same items in any order, since an annotation's list order
// is not visible in the image.
bool aspect_answer_matches(const std::string& generated, const std::string& annotated);

}  // namespace emotune
