// What a dimension head (dimensions/dimension_head.h) reads, computed from the stage-2 model: each image's aspect
// tokens and/or its label scores from one label-ranking pass (whatever eval.mode and eval.inference say of the
// reported evaluation: the head is fitted on ranking's scores, so it reads them everywhere).
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "eval/evaluate.h"

namespace emotune {

// The head's input rows [N, F] for `samples`, in their order. `ranked`, when given, is a rank-mode, plain
// evaluation of exactly these samples whose label scores are reused; else one is run here when the inputs need them.
torch::Tensor dimension_features(const std::vector<std::string>& inputs, EmotionModel& model, ImageFeatures& images,
                                 const std::vector<EmotionSample>& samples, EvalOptions options,
                                 const EmotionEvaluation* ranked = nullptr, const std::string& key = "dimensions.inputs");

// eval.dimension_head applied to an evaluation of `checkpoint` (empty: zero-shot): the head is loaded, refused when
// it was fitted on another checkpoint's features (SHA-256), and it rates every prediction's image.
DimensionScores score_dimensions(const std::string& head_path, const std::string& checkpoint, EmotionModel& model,
                                 ImageFeatures& images, const EmotionEvaluation& evaluation, const EvalOptions& options);

}  // namespace emotune
