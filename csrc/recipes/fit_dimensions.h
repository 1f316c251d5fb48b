// Recipe: `emotune fit-dimensions` (issue 32, item 3; docs/dimensions.md) — a dimension head (dimensions/
// dimension_head.h) from a stage-2 model's features to the continuous ratings the manifest carries.
//
//   emotune fit-dimensions -c configs/dimensions.yaml --set eval.checkpoint=runs/s2/checkpoint.safetensors
//
//   setup     eval.checkpoint's model (none: the zero-shot VLM); per split (data.train_split to fit,
//             dimensions.holdout_split to stop early, data.eval_split to report) the images whose manifest rows
//             carry every rating of dimensions.names, and their features (aspect tokens, label scores)
//   fit       the head by MSE with a ridge penalty, early-stopped on the held-out images
//   save      run_dir/dimensions/: dimension_head.safetensors (with the checkpoint's SHA-256, so it is never
//             read with another model's features), metrics.json (per split and rating: MSE, MAE, Pearson's r, the
//             training mean's MSE, and on an affect world the Bayes MSE) and report.md
//   use       eval.dimension_head: `emotune eval` and Lantern's own vanilla model (`emotune refine` with
//             lantern.vanilla empty) then carry the ratings
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace emotune {

struct DimensionsResult {
  std::string head_path;
  nlohmann::json metrics;  // per split: images, and per rating the errors (eval/metrics.h: dimension_errors)
  std::string report_markdown;
};

DimensionsResult run_fit_dimensions(const EmotuneConfig& config);

}  // namespace emotune
