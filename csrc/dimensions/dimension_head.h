// The dimension head (issue 32, item 3): continuous emotion ratings (valence, arousal, dominance, ...) predicted
// by a linear map from what the frozen stage-2 pipeline already computes, like the personalisation heads
// (personal/personal_head.h): the aspect tokens z_1..z_A and/or the label scores (log-softmax of each label's
// log-likelihood). Why linear on these: they are computed once per image (no VLM pass is trained), MASP says the
// aspect tokens carry the emotion-relevant content, and a linear read-out of them is what the ratings datasets
// (Emotion6: 1,980 images) can support.
//
//   x̂ = (x − μ_x) / σ_x,   ŷ = W x̂ + b,   d = μ_y + σ_y ⊙ ŷ
//
// fitted by the mean squared error of ŷ against the standardised ratings (y − μ_y) / σ_y plus a ridge penalty
// l2 · ‖W‖² (Adam, full batch, early stopping on held-out images: train/small_fit.h), from W = 0, b = 0 — the
// training mean, which is also the baseline every report quotes.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "personal/personal_head.h"

namespace emotune {

struct ManifestRow;

struct DimensionHead {
  std::vector<std::string> names;   // the ratings, in output order (the manifest's `dimensions` keys)
  std::vector<std::string> inputs;  // aspect_tokens and/or label_scores (personal/personal_head.h: head_features)
  std::vector<std::string> labels;  // the model's labels, in the order of its label scores
  std::string checkpoint_sha256;    // the stage-2 checkpoint whose features it reads; empty: the zero-shot VLM
  FeatureScaler features;           // μ_x, σ_x
  FeatureScaler targets;            // μ_y, σ_y (of the fitted images' ratings)
  LinearHead linear;                // W [D, F], b [D]
  torch::Tensor predict(const torch::Tensor& x) const;  // [N, D] in the ratings' own units
};

struct DimensionFitOptions {
  int64_t steps = 500;
  double lr = 0.01;
  double l2 = 0.1;  // ridge on W, in standardised units
  int64_t eval_every = 10;
  int64_t patience = 5;
};
struct DimensionFit {
  DimensionHead head;
  int64_t steps = 0;         // the step of the kept parameters (0: the training mean)
  double holdout_mse = -1;   // their held-out MSE in standardised units; < 0: no held-out images
};
// x [N, F], y [N, D]; the held-out pair may be empty (all steps are then taken).
DimensionFit fit_dimension_head(const std::vector<std::string>& names, const std::vector<std::string>& inputs,
                                const torch::Tensor& x_fit, const torch::Tensor& y_fit, const torch::Tensor& x_holdout,
                                const torch::Tensor& y_holdout, const DimensionFitOptions& options);

// The rows carrying every one of `names` in their `dimensions` (indices into `rows`) and their ratings [M, D].
struct DimensionTargets {
  std::vector<int64_t> rows;
  torch::Tensor values;
};
DimensionTargets dimension_targets(const std::vector<ManifestRow>& rows, const std::vector<std::string>& names);

// safetensors: W, b, μ_x, σ_x, μ_y, σ_y; metadata: format, names, inputs, labels, the checkpoint's SHA-256.
void save_dimension_head(const std::string& path, const DimensionHead& head);
DimensionHead load_dimension_head(const std::string& path);

}  // namespace emotune
