// The vanilla model of `emotune refine` when lantern.vanilla is empty: emotune's own stage-2 predictor (eval.checkpoint;
// none: the zero-shot VLM) ranks the labels of every image that lies in a sequence of data.manifest (docs/data.md),
// and the softmax of the label log-likelihoods is its distribution; with eval.dimension_head, each item also carries
// the head's ratings (dimensions/dimension_head.h). Written in the vanilla-file format (lantern/vanilla_file.h),
// which `emotune refine` then reads like any external model's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace emotune {

struct VanillaWritten {
  int64_t items = 0;
  std::vector<std::string> dimensions;  // the ratings each item carries (the dimension head's names); empty: none
};
// Every split that holds sequences. lantern.dimensions must be empty or the head's names, in its order.
VanillaWritten write_vanilla_from_model(const EmotuneConfig& config, const std::string& path);

}  // namespace emotune
