// Images whose bytes are identical but that sit in different splits: a test image the model also trained on
// (issue 28, finding 10: a real FER-style folder dataset had 18 such pairs). Reported by `emotune prepare` as a
// warning, with the pairs in prepare.json; the splits themselves are left as the dataset gives them. One
// image file shared by several users (Affection) is the same path, not a copy, and is not reported.
#pragma once
#include <string>
#include <vector>

#include "prepare/prepared_dataset.h"

namespace emotune {

struct CrossSplitDuplicate {
  std::string first, first_split, second, second_split;  // image paths; first sorts before second
};

// Files are compared by size first, then by content hash and bytes, so only same-sized files are read.
std::vector<CrossSplitDuplicate> find_cross_split_duplicates(const std::vector<PreparedRow>& rows);

}  // namespace emotune
