// Reading an LLM's refinement of one receptive field (the answer format of lantern/refine_prompt.h), strictly:
//   - the JSON object may stand inside a code fence or after prose; nothing else is guessed;
//   - every item 1..n exactly once, every label one of the label set (case and surrounding spaces ignored), every
//     probability a number >= 0; a label not given is 0;
//   - probabilities summing to 1 within `tolerance` are rescaled to 1 exactly; any other positive sum is rescaled
//     too, and counted (`rescaled`), so a report can say how often the LLM's numbers were off.
// Anything else (not JSON, a missing or repeated item, an unknown label, a negative or non-number, a zero sum) makes
// the whole field invalid with the reason: the caller asks again, and after its last try keeps the vanilla
// prediction for those items, counted — never a silently accepted answer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct FieldRefinement {
  bool valid = false;
  std::string error;                               // why not valid
  std::vector<std::vector<double>> probabilities;  // [items][labels], each summing to 1
  int64_t rescaled = 0;                            // items whose sum was off by more than the tolerance
  std::string raw;                                 // the answer as given (the caller's record, for a re-ask)
};

FieldRefinement parse_refinement(const std::string& answer, int64_t items, const std::vector<std::string>& labels, double tolerance = 0.02);

}  // namespace emotune
