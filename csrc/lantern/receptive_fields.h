// Lantern's receptive fields (paper 004, "Dialogue slicing into receptive fields"): windows of w consecutive items of
// a sequence (utterances of a dialogue, images of an album) that slide by s = w / t, so that every item lies in exactly
// t fields and is refined t times by the LLM, each time with other neighbours around it.
//
// Construction (the paper publishes none; this one keeps "exactly t" at the edges too): the windows [m·s, m·s + w)
// for every integer m with m·s + w > 0 and m·s < n, clipped to [0, n). An item i lies in the windows whose start m·s
// falls in (i − w, i]: an interval of length w holds exactly w / s = t multiples of s. The clipped windows at the
// edges are shorter (an edge item sees context on one side only — the fusion is told so by each candidate's
// context counts); when n < w, several clipped windows hold the same items (recipes/lantern_refine asks such a
// field once and counts it for each).
#pragma once
#include <cstdint>
#include <vector>

namespace emotune {

struct ReceptiveField {
  int64_t start = 0, end = 0;  // items [start, end) of the sequence
  // Item i's context inside this field: the items before and after it that the LLM sees with it.
  int64_t before(int64_t i) const { return i - start; }
  int64_t after(int64_t i) const { return end - 1 - i; }
  bool contains(int64_t i) const { return i >= start && i < end; }
};

// The fields of a sequence of n items, in order of their start. Raises unless 1 <= per_item <= window and
// per_item divides window (naming `window_key` and `per_item_key`, the config keys they came from).
std::vector<ReceptiveField> receptive_fields(int64_t n, int64_t window, int64_t per_item, const char* window_key = "window",
                                             const char* per_item_key = "fields_per_item");

}  // namespace emotune
