// A sequence world (Lantern, issue 32): the affect world's images grouped into sequences (albums, timelines) whose
// labels carry emotional inertia, so that context helps and by how much is known.
//
// Each sequence's labels follow a Markov chain over the 8 emotions: the first drawn from the world's label marginal
// p_w (the mean of p(e | a) over all images), then each label stays the same with probability ρ (the inertia) or is
// drawn afresh from p_w (which may give it again): T = ρ·I + (1 − ρ)·1·p_wᵀ, whose stationary distribution is p_w, so
// a split's images of each label are asked for about as often as they exist. Position j then takes an unused image of
// the split whose (world-drawn) label is that label; its aspects a carry the label through the world's table,
// p(a | e) ∝ p(e | a) / p_w(e).
//
// Two Bayes limits per split, the mean over items of the best posterior's probability:
//   context-free   p(e_j | a_j) ∝ p_w(e_j) · p(a_j | e_j) ∝ p(e_j | a_j): the world's own limit
//   sequence       p(e_j | a_1..a_L), forward-backward over the chain with those emissions
// The room between them is what a model that sees the whole sequence (Lantern's LLM over a receptive field) can win.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct SequenceOptions {
  int64_t sequences = 0;  // 0: no sequences
  int64_t length = 8;
  double inertia = 0.7;   // ρ
  uint64_t seed = 1;
};

// What grouping needs of each image of the world.
struct WorldImage {
  size_t label = 0, split = 0;
  std::vector<double> p;  // p(e | a) of the world's table
};

struct SequenceSplitSummary {
  std::string name;
  int64_t sequences = 0, items = 0;
  double bayes_context_free = 0, bayes_sequence = 0;
};

struct WorldSequences {
  std::vector<std::vector<int64_t>> members;  // per sequence, its images in order
  std::vector<SequenceSplitSummary> splits;   // in the order of the split names
};

// Sequences dealt over the splits in proportion to their images; raises (naming the split and label) when a split has
// too few images of a label the chain asks for: more --images, or fewer sequences.
WorldSequences group_into_sequences(const std::vector<WorldImage>& images, const std::vector<std::string>& split_names,
                                    const std::vector<std::string>& label_names, const SequenceOptions& options);

// p(e_j | o_1..o_L) of the chain T = ρ·I + (1 − ρ)·1·marginalᵀ started at `marginal`, with per-item emission
// likelihoods [L][K] (forward-backward, normalised at every step).
std::vector<std::vector<double>> chain_posteriors(const std::vector<std::vector<double>>& emissions, double inertia,
                                                  const std::vector<double>& marginal);

}  // namespace emotune
