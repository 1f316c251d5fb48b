#include "masp/answer_scoring.h"

#include <torch/torch.h>

#include "core/error.h"
#include "masp/sequence.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

LossSum AnswerScores::loss_sum(LossReduction reduction) const {
  if (reduction == LossReduction::TokenMean) return {-log_likelihood.sum(), static_cast<double>(tokens.sum().item<int64_t>())};
  return {(-log_likelihood / tokens.clamp_min(1).to(log_likelihood.scalar_type())).sum(), static_cast<double>(log_likelihood.size(0))};
}

AnswerScores score_answers(FrozenVLM& vlm, const SequenceBatch& batch, const FrozenVLM::PrefixCache* prefix) {
  using torch::indexing::Slice;
  const int64_t b = batch.size(), s = batch.embeds.size(1);
  // The logits at position t predict the token at t + 1.
  auto target_at = batch.loss_mask.slice(1, 1, s);
  auto rows = torch::cat({target_at, torch::zeros({b, 1}, target_at.options())}, 1);
  auto targets = batch.token_ids.slice(1, 1, s).index({target_at});
  if (targets.numel() == 0) raise("internal: a batch with no answer tokens to score");
  auto positions = batch.model_positions();
  auto logits = (prefix ? vlm.forward_rows_after(*prefix, batch.embeds, batch.attention_mask, rows, positions)
                        : vlm.forward_rows(batch.embeds, batch.attention_mask, rows, positions)).to(torch::kFloat32);
  auto token_logp = torch::log_softmax(logits, -1).gather(1, targets.unsqueeze(1)).squeeze(1);
  auto sample_of_row = rows.nonzero().select(1, 0);
  AnswerScores out;
  out.log_likelihood = torch::zeros({b}, token_logp.options()).index_add(0, sample_of_row, token_logp);
  out.tokens = target_at.sum(1);
  return out;
}

}  // namespace emotune
