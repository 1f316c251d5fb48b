// The vanilla model of `emotune refine` when lantern.vanilla is empty: emotune's own stage-2 predictor (eval.checkpoint;
// none: the zero-shot VLM) ranks the labels of every image that lies in a sequence of data.manifest (docs/data.md),
// and the softmax of the label log-likelihoods is its distribution. Written in the vanilla-file format
// (lantern/vanilla_file.h), which `emotune refine` then reads like any external model's.
#pragma once
#include <string>

#include "config/config.h"

namespace emotune {

// Every split that holds sequences; returns how many items were written.
int64_t write_vanilla_from_model(const EmotuneConfig& config, const std::string& path);

}  // namespace emotune
