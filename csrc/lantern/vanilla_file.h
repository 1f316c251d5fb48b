// The vanilla model's predictions that Lantern refines (docs/lantern.md, "The vanilla file"): one JSON line per item,
//   {"sequence": "Ses01F_impro01", "index": 0, "split": "train", "gold": "neutral", "speaker": "F",
//    "text": "Excuse me.", "probabilities": {"happy": 0.1, "sad": 0.2, "neutral": 0.6, "angry": 0.1},
//    "dimensions": {"valence": 2.5, "arousal": 2.0}}
// sequence, index, split and probabilities (exactly the label set) are required; gold (one of the labels) where the
// item is scored or fitted; speaker and text optional; dimensions exactly lantern.dimensions when those are set. A
// sequence's indices run 0..n-1, each once, and all its items lie in one split. Any other line is an error naming the
// file, the line and what was expected. emotune's own vanilla models and external ones (CORECT, SDT, ...) write it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lantern/refine_prompt.h"

namespace emotune {

struct VanillaSequence {
  std::string id, split;
  std::vector<SequenceItem> items;  // in order
  std::vector<int64_t> gold;        // label index per item; -1: not given
  std::vector<int64_t> lines;       // the file line of each item
};

// The sequences in the order of their first line.
std::vector<VanillaSequence> read_vanilla_file(const std::string& path, const std::vector<std::string>& labels,
                                               const std::vector<std::string>& dimensions);

}  // namespace emotune
