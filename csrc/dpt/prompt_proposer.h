// Who writes the prompts of discrete prompt tuning (paper 000 §III): N initial prompts per initialisation,
// then at every step T modified prompts given the best and worst prompts so far with their scores.
//   openai:       an LLM behind an OpenAI-compatible endpoint, asked to move toward the good prompts and away
//                 from the poor ones (§III-C); its calls are metered and cached like the target's.
//   evolutionary: no LLM — prompts are sequences of fragments (dpt.fragments), children come from crossover
//                 of two good parents and one mutation, and children equal to a poor prompt are rejected.
//                 Runs offline: on the embedded default and in tests.
// Both are deterministic given (seed, user, initialisation, restart, step) and what they are shown, so a
// resumed run proposes exactly what the interrupted run proposed.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "llm/call_meter.h"

namespace emotune {

struct ScoredPrompt {
  int64_t id = 0;
  std::string text;
  double score = 0;
};

struct ProposalStep {
  std::string user;
  int64_t initialization = 0, restart = 0, step = -1;  // step -1: the initial proposals
  uint64_t seed() const;
};

class PromptProposer {
 public:
  virtual ~PromptProposer() = default;
  virtual std::vector<std::string> initial(int64_t n, const ProposalStep& at) = 0;
  virtual std::vector<std::string> modify(const std::vector<ScoredPrompt>& best, const std::vector<ScoredPrompt>& worst,
                                          int64_t n, const ProposalStep& at) = 0;
};

std::unique_ptr<PromptProposer> make_prompt_proposer(const EmotuneConfig& config, CallMeter& meter);
// Prompts in an LLM's answer: a JSON array of strings, or else one per non-empty line (numbering removed).
std::vector<std::string> parse_proposals(const std::string& answer);
const std::vector<std::string>& default_prompt_fragments();

}  // namespace emotune
