// Personalisation heads: a per-user linear map from what the frozen pipeline already computes to label
// logits. Why this design:
//   - Inputs are the aspect tokens z_1..z_A (stage 1; what MASP says carries the emotion-relevant content)
//     and/or the label scores of the global stage-2 predictor (log-softmax of each label's log-likelihood).
//     Both are computed once per image, so fitting thousands of users costs no VLM forward passes.
//   - Users have few images (30% of theirs, paper 000), so a user head is the global head plus a small
//     correction: W_u = W_g + ΔW_u, fitted from W_g with an L2 pull λ‖ΔW_u‖² and early stopping on held-out
//     images. With no evidence, a user gets the global head back.
//   - Linear, so a user costs C·(F+1) floats (8 · 513 for the embedded model) in the store.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct LinearHead {
  torch::Tensor weight;  // [C, F]
  torch::Tensor bias;    // [C]
  torch::Tensor logits(const torch::Tensor& features) const;  // [N, C]
};
LinearHead zero_head(int64_t classes, int64_t features);

// Standardisation fitted on the pooled training features (stored with the heads).
struct FeatureScaler {
  torch::Tensor mean, std;
  static FeatureScaler fit(const torch::Tensor& features);
  torch::Tensor apply(const torch::Tensor& features) const;
};

// [N, F]: the requested inputs ("aspect_tokens", "label_scores"), concatenated in that order; errors name `key`,
// the config key that listed them.
torch::Tensor head_features(const std::vector<std::string>& inputs, const torch::Tensor& aspect_tokens,
                            const torch::Tensor& label_scores, const std::string& key = "personal.head_inputs");

struct HeadFitOptions {
  int64_t steps = 200;
  double lr = 0.01;
  double l2 = 0.1;  // pull toward the anchor
  int64_t eval_every = 5;
  int64_t patience = 4;
};
struct HeadFit {
  LinearHead head;
  int64_t steps = 0;          // steps of the kept parameters
  double holdout_loss = -1;   // < 0: no held-out images
};
// Minimises mean CE(x_fit, y_fit) + l2 · (‖W − W_a‖² + ‖b − b_a‖²) with Adam, full batch, starting at the
// anchor: the small fit of train/small_fit.h (held-out rows keep the best parameters and stop the fit after
// `patience` checks without improvement; without them, all `steps` are taken).
HeadFit fit_head(const LinearHead& anchor, const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                 const torch::Tensor& x_holdout, const torch::Tensor& y_holdout, const HeadFitOptions& options);

}  // namespace emotune
