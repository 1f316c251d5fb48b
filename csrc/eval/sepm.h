// SEPM, "Catch Your Emotion" (paper 003): training-free coarse-to-fine inference with Focus-on-Emotion visual
// token dropping. This file holds the method's pure parts — the queries, the confidence of Eq. 4, the fine stage's
// options, the drop set of Eq. 6-10 and the answer's mapping back to a label — each a function of its inputs, so
// each is tested against a hand computation (tests/eval/test_sepm.cpp). Where the authors' code
// (../shared/reference/MASP_SEPM_CODE_FACTS.md) differs from the paper, both are here; the paper is the default.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/modes.h"
#include "eval/label_polarity.h"

namespace emotune {

// The Focus-on-Emotion sentence (§3.3, "FoE prompt"), put before the coarse query.
constexpr const char* kFocusOnEmotion = "Please focus on emotion.";

// Q_c (§3.2): FoE, then the two options and which labels are positive and which negative. Neutral labels are
// named in neither list.
std::string sepm_coarse_question(const std::vector<std::string>& labels);

// Eq. 4's confidence from the two options' probabilities (softmax over the whole vocabulary, Eq. 3): the population
// variance of (pA, pB), (pA - pB)^2 / 4 (SepmVariance::Paper), or the authors' unbiased one, (pA - pB)^2 / 2 (Code).
double sepm_confidence(double p_a, double p_b, SepmVariance variance);

// Which options the fine stage lists (true: kept; option k is labels[k], letter 'A' + k at every stage): above the
// threshold only the predicted polarity's labels (neutral ones with both), below it all of them.
std::vector<bool> sepm_fine_options(const std::vector<std::string>& labels, Polarity predicted, bool confident);
// Q_f (§3.2): the kept options with their letters, and below the threshold the sentence saying the coarse stage
// found the emotion ambiguous.
std::string sepm_fine_question(const std::vector<std::string>& labels, const std::vector<bool>& kept, bool ambiguous);
// The label index of an answer that is exactly one kept option's letter (surrounding spaces and a trailing '.' or
// ')' allowed); -1 for anything else, which the caller counts and reports (the code accepts only a letter).
int64_t sepm_answer_label(const std::string& answer, const std::vector<bool>& kept);

// Eq. 6-9: the attention of the coarse pass's last layer [H, S, S] (query, key) for one sequence, averaged over
// heads; rows `focus_rows` (the FoE sentence's tokens), columns `visual_columns` (the N_v visual tokens): P̄[j] is
// the mean over rows. Returns the indices j (into visual_columns) of the ⌊β·N_v⌋ smallest P̄[j], ascending; equal
// scores are dropped in position order (the earlier token first), so the set is deterministic.
std::vector<int64_t> sepm_drop_set(const torch::Tensor& attention, const std::vector<int64_t>& focus_rows,
                                   const std::vector<int64_t>& visual_columns, double beta);
// Eq. 9 on P̄ itself: the indices of the ⌊β·N⌋ smallest scores, ascending, ties in position order.
std::vector<int64_t> sepm_least_attended(const torch::Tensor& scores, double beta);
// P̄ itself, [N_v] float64 (the report's heatmap).
torch::Tensor sepm_visual_scores(const torch::Tensor& attention, const std::vector<int64_t>& focus_rows,
                                 const std::vector<int64_t>& visual_columns);

}  // namespace emotune
