// Lantern's prompt (paper 004, "LLM prompting"): one receptive field's items in order — who speaks, what is said or
// shown, and the vanilla model's prediction as a reference (its top labels with their probabilities, and its
// dimension scores where it has a dimension head) — and the request for the LLM's own probability of every label for
// every item, as JSON. The LLM never sees the media: the vanilla model has, and its numbers stand in for them.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "lantern/receptive_fields.h"

namespace emotune {

// One item of a sequence with the vanilla model's outputs.
struct SequenceItem {
  std::string speaker;                // may be empty
  std::string text;                   // the utterance or caption; may be empty (an image without one)
  std::vector<double> probabilities;  // over RefinePromptOptions::labels
  std::vector<double> dimensions;     // over RefinePromptOptions::dimensions; empty: none
};

struct RefinePromptOptions {
  std::vector<std::string> labels;
  std::vector<std::string> dimensions;  // e.g. valence, arousal, dominance; empty: the vanilla model has none
  int64_t top_k = 3;                    // reference labels shown per item
  std::string item = "utterance";       // what an item is, as the prompt names it (utterance, image, post)
  std::string sequence = "dialogue";    // what a sequence is (dialogue, album, timeline)
};

// The chat messages (OpenAI format: a system and a user message) asking to refine `field` of the sequence `sequence_id`
// (its `items`). The prompt says where the field lies in the sequence (an edge field has no context on one side); the
// items are numbered from 1 in the field, and the answer format is what parse_refinement reads.
nlohmann::json refine_messages(const std::string& sequence_id, const std::vector<SequenceItem>& items, const ReceptiveField& field,
                               const RefinePromptOptions& options);

}  // namespace emotune
