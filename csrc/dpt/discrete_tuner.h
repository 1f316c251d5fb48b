// `emotune tune-discrete`: discrete prompt tuning for personalised emotion recognition (paper 000 §III).
//
// Per user (training images: the user's training split, at most dpt.train_images of them):
//   for each of I3 initialisations: the proposer writes N prompts; each is scored (accuracy on the user's
//   training images); then for each of I2 restarts, I1 steps: the best-k and worst-k prompts of the current
//   restart, with scores, go to the proposer, which writes T modified prompts, each scored.
//   A restart begins from (dpt.restart_from) the initialisation's best N prompts so far ("best", default) or
//   its N initial prompts ("initial"); the paper summary leaves this open (docs/discrete-prompts.md).
//   Prediction: the majority vote of the H best prompts over all candidates (ties: the better-ranked prompt).
//
// Bookkeeping a paid run needs: every model call is cached on disk (run_dir/dpt/calls.jsonl), so a rerun or
// a resumed run repeats no answered call and, being deterministic, ends with the same result; spending is
// metered against a budget; the full candidate history (prompt, parents, score) is run_dir/dpt/history.jsonl.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "llm/call_meter.h"
#include "dpt/prompt_proposer.h"

namespace emotune {

struct DiscreteUserResult {
  std::string user;
  int64_t train_images = 0, test_images = 0, candidates = 0;
  std::vector<ScoredPrompt> top = {};  // the H best, best first
  double initial_test = -1;       // best of the first initialisation's N initial prompts, on test images
  double best_test = -1;          // the single best prompt
  double vote_test = -1;          // majority vote of the H best
  double bayes = -1;              // affect worlds: the user's Bayes limit on the test split
};

struct DiscreteResult {
  std::vector<DiscreteUserResult> users;
  Spend spend;
  std::string report_markdown;
  nlohmann::json to_json() const;
};

// Throws RunStopped (a clean stop; rerun to continue) when the budget or dpt.stop_after_calls is reached.
DiscreteResult run_discrete_tuning(const EmotuneConfig& config);

// The majority vote of per-prompt predictions (prompts best first; -1 abstains); ties go to the label of
// the better-ranked prompt.
int64_t majority_vote(const std::vector<int64_t>& predictions_best_first);

}  // namespace emotune
