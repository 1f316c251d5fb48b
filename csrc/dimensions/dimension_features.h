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

struct DimensionHead;
// eval.dimension_head (read from `head_path`) refused for a model of `checkpoint` (empty: zero-shot) when it was
// fitted on another checkpoint's features (SHA-256) or on labels ranked in another order. Once per model.
void check_dimension_head(const DimensionHead& head, const std::string& head_path, const std::string& checkpoint, const EmotionModel& model);
// The checked head's ratings of every prediction's image of an evaluation.
DimensionScores score_dimensions(const DimensionHead& head, const std::string& head_path, EmotionModel& model, ImageFeatures& images,
                                 const EmotionEvaluation& evaluation, const EvalOptions& options);

}  // namespace emotune
