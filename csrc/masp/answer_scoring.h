// Log-likelihood of the Label tokens of a batch under the frozen LM: the training loss (causal LM
// cross-entropy over answer tokens only, paper §Stage 1/2) and the label-ranking score come from here.
#pragma once
#include <torch/types.h>

#include "config/modes.h"
#include "train/task.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

struct SequenceBatch;

struct AnswerScores {
  torch::Tensor log_likelihood;  // [B] Σ log p(answer token), differentiable
  torch::Tensor tokens;          // [B] number of answer tokens
  // The answer cross-entropy of the batch as a sum and its count: over every answer token (token_mean), or
  // of each sample's token mean over the samples (sample_mean).
  LossSum loss_sum(LossReduction reduction) const;
};

// With `prefix`, `batch` holds the positions after a prefilled prefix (SequenceBuilder::assemble_split).
AnswerScores score_answers(FrozenVLM& vlm, const SequenceBatch& batch, const FrozenVLM::PrefixCache* prefix = nullptr);

}  // namespace emotune
