#include "lantern/fusion.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "train/small_fit.h"
#include "train/task.h"

namespace emotune {

namespace {
constexpr const char* kFeatureVersion = "lantern-fusion-features-v2";
constexpr double kFloor = 1e-9;  // log(p_fused[gold] + floor): a candidate set giving gold 0 stays finite
}  // namespace

std::vector<float> fusion_features(const FusionCandidate& c, const std::vector<double>& vanilla, int64_t window) {
  const auto& p = c.probabilities;
  if (p.size() != vanilla.size() || p.empty()) raise("Lantern: a candidate has ", p.size(), " probabilities beside ", vanilla.size());
  const double span = std::max<int64_t>(1, window - 1);
  double entropy = 0, dot = 0, norm_p = 0, norm_v = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] > 0) entropy -= p[k] * std::log(p[k]);
    dot += p[k] * vanilla[k], norm_p += p[k] * p[k], norm_v += vanilla[k] * vanilla[k];
  }
  const auto top = std::max_element(p.begin(), p.end()) - p.begin();
  const auto top_vanilla = std::max_element(vanilla.begin(), vanilla.end()) - vanilla.begin();
  const double k_log = p.size() > 1 ? std::log(static_cast<double>(p.size())) : 1.0;
  const double cosine = norm_p > 0 && norm_v > 0 ? dot / std::sqrt(norm_p * norm_v) : 0.0;
  return {c.vanilla ? 1.0f : 0.0f, static_cast<float>(c.before / span), static_cast<float>(c.after / span),
          static_cast<float>(std::min(c.before, c.after) / span), static_cast<float>(entropy / k_log), static_cast<float>(cosine),
          top == top_vanilla ? 1.0f : 0.0f, static_cast<float>(p[static_cast<size_t>(top)]), c.fallback ? 1.0f : 0.0f};
}

FusionBatch fusion_batch(const std::vector<std::vector<FusionCandidate>>& items, int64_t window, const std::vector<int64_t>& gold) {
  if (items.empty()) return {torch::zeros({0, 0, kFusionFeatures}), torch::zeros({0, 0, 0}), torch::zeros({0}, torch::kInt64)};
  const auto c = static_cast<int64_t>(items[0].size());
  const auto k = static_cast<int64_t>(items[0].at(0).probabilities.size());
  auto features = torch::empty({static_cast<int64_t>(items.size()), c, kFusionFeatures});
  auto probabilities = torch::empty({static_cast<int64_t>(items.size()), c, k});
  auto f = features.accessor<float, 3>();
  auto p = probabilities.accessor<float, 3>();
  for (size_t i = 0; i < items.size(); ++i) {
    if (static_cast<int64_t>(items[i].size()) != c) raise("Lantern: item ", i, " has ", items[i].size(), " candidates, item 0 has ", c);
    auto vanilla = std::find_if(items[i].begin(), items[i].end(), [](const FusionCandidate& x) { return x.vanilla; });
    if (vanilla == items[i].end()) raise("Lantern: item ", i, " has no vanilla candidate");
    for (int64_t j = 0; j < c; ++j) {
      const auto& cand = items[i][static_cast<size_t>(j)];
      auto row = fusion_features(cand, vanilla->probabilities, window);
      for (int64_t q = 0; q < kFusionFeatures; ++q) f[static_cast<int64_t>(i)][j][q] = row[static_cast<size_t>(q)];
      for (int64_t q = 0; q < k; ++q) p[static_cast<int64_t>(i)][j][q] = static_cast<float>(cand.probabilities.at(static_cast<size_t>(q)));
    }
  }
  return {features, probabilities, gold.empty() ? torch::Tensor() : torch::tensor(gold, torch::kInt64)};
}

LanternFusionImpl::LanternFusionImpl(FusionOptions options) : options_(options) {
  if (options_.hidden < 1) raise("Lantern: the fusion's hidden size must be at least 1, got ", options_.hidden);
  hidden = register_module("hidden", torch::nn::Linear(kFusionFeatures, options_.hidden));
  score = register_module("score", torch::nn::Linear(options_.hidden, 1));
  reset();
}

void LanternFusionImpl::reset() {
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(options_.seed, 0x1A7E));
  const double bound = 1.0 / std::sqrt(static_cast<double>(kFusionFeatures));
  hidden->weight.uniform_(-bound, bound, gen);
  hidden->bias.zero_();
  score->weight.zero_();  // every candidate weighs the same until fitted
  score->bias.zero_();
}

torch::Tensor LanternFusionImpl::weights(const torch::Tensor& features) {
  if (options_.uniform) return torch::full({features.size(0), features.size(1)}, 1.0 / static_cast<double>(features.size(1)));
  return torch::softmax(score->forward(torch::tanh(hidden->forward(features))).squeeze(-1), 1);
}

torch::Tensor LanternFusionImpl::forward(const torch::Tensor& features, const torch::Tensor& probabilities) {
  return (weights(features).unsqueeze(-1) * probabilities).sum(1);
}

namespace {

// The fit as a TrainTask: samples are items, the loss their fused cross-entropy.
class FusionTask : public TrainTask {
 public:
  FusionTask(LanternFusion& fusion, FusionBatch all) : fusion_(fusion), all_(std::move(all)) {}
  std::string stage() const override { return "lantern-fusion"; }
  int64_t num_samples() const override { return all_.size(); }
  NamedTensors trainable() override {
    NamedTensors out;
    for (const auto& p : fusion_->named_parameters()) out[p.key()] = p.value();
    return out;
  }
  NamedTensors checkpoint_tensors() override { return trainable(); }
  LossSum loss_sum(const std::vector<int64_t>& samples, int64_t) override {
    auto rows = torch::tensor(samples, torch::kInt64);
    auto fused = fusion_->forward(all_.features.index_select(0, rows), all_.probabilities.index_select(0, rows));
    auto gold = all_.gold.index_select(0, rows).unsqueeze(1);
    return {-torch::log(fused.gather(1, gold).squeeze(1) + kFloor).sum(), static_cast<double>(samples.size())};
  }

 private:
  LanternFusion& fusion_;
  FusionBatch all_;
};


}  // namespace

double fusion_loss(LanternFusion& fusion, const FusionBatch& batch) {
  torch::NoGradGuard no_grad;
  if (batch.size() == 0) return -1;
  auto fused = fusion->forward(batch.features, batch.probabilities);
  return -torch::log(fused.gather(1, batch.gold.unsqueeze(1)) + kFloor).mean().item<double>();
}

FusionFitResult fit_fusion(LanternFusion& fusion, const FusionBatch& fit, const FusionBatch& holdout, const FusionFitOptions& o) {
  if (fusion->options().uniform || fit.size() == 0) return {0, fusion_loss(fusion, holdout)};
  if (!fit.gold.defined() || (holdout.size() > 0 && !holdout.gold.defined())) raise("internal: fitting the fusion needs gold labels");
  FusionBatch all = holdout.size() > 0 ? FusionBatch{torch::cat({fit.features, holdout.features}), torch::cat({fit.probabilities, holdout.probabilities}),
                                                     torch::cat({fit.gold, holdout.gold})}
                                       : fit;
  FusionTask task(fusion, all);
  // Full batch: every fitted item in one forward pass.
  SmallFitOptions options{small_fit_adam(o.lr, std::max<int64_t>({1, fit.size(), holdout.size()})), o.steps, o.eval_every, o.patience};
  auto r = fit_small(task, index_range(0, fit.size()), index_range(fit.size(), all.size()), options);
  torch::NoGradGuard no_grad;
  for (auto& p : fusion->named_parameters()) p.value().copy_(r.best.at(p.key()));
  return {r.steps, r.holdout_loss};
}

void save_fusion(const std::string& path, LanternFusion& fusion) {
  NamedTensors tensors;
  for (const auto& p : fusion->named_parameters()) tensors["lantern.fusion." + p.key()] = p.value().detach().contiguous();
  save_safetensors(path, tensors, {{"format", kFeatureVersion}, {"hidden", std::to_string(fusion->options().hidden)},
                                   {"uniform", fusion->options().uniform ? "true" : "false"}});
}

LanternFusion load_fusion(const std::string& path) {
  auto content = load_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = content.metadata.find(key);
    if (it == content.metadata.end()) raise(path, ": no '", key, "' in the metadata (not a Lantern fusion file)");
    return it->second;
  };
  if (meta("format") != kFeatureVersion) raise(path, ": format '", meta("format"), "', expected '", kFeatureVersion, "'");
  FusionOptions options;
  options.hidden = std::stoll(meta("hidden"));
  options.uniform = meta("uniform") == "true";
  LanternFusion fusion(options);
  torch::NoGradGuard no_grad;
  for (auto& p : fusion->named_parameters()) {
    auto it = content.tensors.find("lantern.fusion." + p.key());
    if (it == content.tensors.end()) raise(path, ": tensor 'lantern.fusion.", p.key(), "' is missing");
    if (it->second.sizes() != p.value().sizes()) raise(path, ": 'lantern.fusion.", p.key(), "' is ", it->second.sizes(), ", expected ", p.value().sizes());
    p.value().copy_(it->second);
  }
  return fusion;
}

}  // namespace emotune
