// Lantern's receptive-field-aware attention weighting (paper 004, "Prediction fusion"): every item of a sequence has
// t refined distributions (one per receptive field holding it, lantern/receptive_fields.h) and the vanilla model's
// own. A small attention module scores each candidate from what is known of it, and the fused prediction is
//
//   a_c = w2 · tanh(W1 f_c + b1) + b2,   α = softmax_c(a),   p_fused = Σ_c α_c p_c,
//
// f_c (kFusionFeatures) = [is the vanilla prediction, context before the item in its field / (w − 1), context after
// / (w − 1), the smaller of the two / (w − 1) (an item at a field's edge sees less), entropy(p_c) / log K, cosine
// of p_c with the vanilla p, 1 if p_c's top label is the vanilla one's, max p_c, 1 if the field's answer could not be
// read and the vanilla stands in (so it is not mistaken for a refiner that agreed)]. The module is fitted on the
// training split's refinements by the cross-entropy of p_fused with the gold label (train/small_fit: Adam, early
// stopping on held-out items); w2 starts at 0, so an unfitted module is the uniform average — also the ablation
// (FusionOptions::uniform).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

// One candidate distribution of one item.
struct FusionCandidate {
  std::vector<double> probabilities;
  int64_t before = 0, after = 0;  // context items the LLM saw with the item in that field (0, 0 for the vanilla)
  bool vanilla = false;
  bool fallback = false;  // the field's answer could not be read: the vanilla distribution stands in for it
};

constexpr int64_t kFusionFeatures = 9;
// f_c of `candidate`, beside the item's vanilla distribution, for fields of `window` items.
std::vector<float> fusion_features(const FusionCandidate& candidate, const std::vector<double>& vanilla, int64_t window);

// Items with the same number of candidates as tensors: features [N, C, F], probabilities [N, C, K], gold [N] (when
// given). The vanilla candidate of each item is the one marked so.
struct FusionBatch {
  torch::Tensor features, probabilities, gold;
  int64_t size() const { return features.size(0); }
};
FusionBatch fusion_batch(const std::vector<std::vector<FusionCandidate>>& items, int64_t window, const std::vector<int64_t>& gold = {});

struct FusionOptions {
  int64_t hidden = 16;
  bool uniform = false;  // the ablation: every candidate weighs the same
  uint64_t seed = 3407;
};

class LanternFusionImpl : public torch::nn::Module {
 public:
  explicit LanternFusionImpl(FusionOptions options = {});
  void reset();
  torch::Tensor weights(const torch::Tensor& features);                                   // α [N, C]
  torch::Tensor forward(const torch::Tensor& features, const torch::Tensor& probabilities);  // p_fused [N, K]
  const FusionOptions& options() const { return options_; }
  torch::nn::Linear hidden{nullptr}, score{nullptr};

 private:
  FusionOptions options_;
};
TORCH_MODULE(LanternFusion);

struct FusionFitOptions {
  double lr = 0.05;
  int64_t steps = 2000, eval_every = 10, patience = 5;
};
struct FusionFitResult {
  int64_t steps = 0;          // the step whose weights were kept
  double holdout_loss = -1;   // their held-out cross-entropy (< 0: no held-out items)
};
// Fits `fusion` (not under the uniform ablation, which has nothing to fit) in place.
FusionFitResult fit_fusion(LanternFusion& fusion, const FusionBatch& fit, const FusionBatch& holdout, const FusionFitOptions& options = {});
// Mean cross-entropy of the fused distributions with the gold labels.
double fusion_loss(LanternFusion& fusion, const FusionBatch& batch);

// The module's tensors and options as safetensors (metadata: the feature list's version, hidden size, uniform).
void save_fusion(const std::string& path, LanternFusion& fusion);
LanternFusion load_fusion(const std::string& path);

}  // namespace emotune
