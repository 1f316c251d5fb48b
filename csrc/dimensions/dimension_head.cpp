#include "dimensions/dimension_head.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "data/manifest.h"
#include "io/safetensors.h"
#include "train/small_fit.h"
#include "train/task.h"

namespace emotune {

namespace {
constexpr const char* kFormat = "emotune-dimension-head-v1";

// The head as a trainer task over standardised features and ratings: rows of x are the samples.
class DimensionTask final : public TrainTask {
 public:
  DimensionTask(torch::Tensor x, torch::Tensor y, double l2, int64_t features)
      : x_(std::move(x)), y_(std::move(y)), l2_(l2), head_(zero_head(y_.size(1), features)) {
    head_.weight.set_requires_grad(true), head_.bias.set_requires_grad(true);
  }
  std::string stage() const override { return "dimension-head"; }
  int64_t num_samples() const override { return x_.size(0); }
  NamedTensors trainable() override { return {{"weight", head_.weight}, {"bias", head_.bias}}; }
  NamedTensors checkpoint_tensors() override { return trainable(); }
  // Σ over the rows of the mean squared error over the dimensions: the trainer divides by the rows.
  LossSum loss_sum(const std::vector<int64_t>& samples, int64_t) override {
    auto rows = torch::tensor(samples, torch::kInt64);
    auto error = head_.logits(x_.index_select(0, rows)) - y_.index_select(0, rows);
    return {error.pow(2).mean(1).sum(), static_cast<double>(samples.size())};
  }
  torch::Tensor regularizer() override { return l2_ * head_.weight.pow(2).sum(); }

 private:
  torch::Tensor x_, y_;
  double l2_;
  LinearHead head_;
};

torch::Tensor as_float(const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat32).contiguous(); }
}  // namespace

torch::Tensor DimensionHead::predict(const torch::Tensor& x) const {
  return targets.mean + targets.std * linear.logits(features.apply(as_float(x)));
}

DimensionFit fit_dimension_head(const std::vector<std::string>& names, const std::vector<std::string>& inputs,
                                const torch::Tensor& x_fit, const torch::Tensor& y_fit, const torch::Tensor& x_holdout,
                                const torch::Tensor& y_holdout, const DimensionFitOptions& o) {
  if (x_fit.size(0) == 0) raise("dimension head: no image to fit it on");
  if (y_fit.dim() != 2 || y_fit.size(1) != static_cast<int64_t>(names.size()) || y_fit.size(0) != x_fit.size(0))
    raise("dimension head: ", x_fit.size(0), " feature rows and ratings of shape ", y_fit.sizes(), " for ", names.size(), " dimensions");
  DimensionHead head;
  head.names = names, head.inputs = inputs;
  head.features = FeatureScaler::fit(as_float(x_fit));
  head.targets = FeatureScaler::fit(as_float(y_fit));
  const bool has_holdout = x_holdout.defined() && x_holdout.size(0) > 0;
  auto x = head.features.apply(as_float(x_fit)), y = head.targets.apply(as_float(y_fit));
  const int64_t n_fit = x.size(0), n_held = has_holdout ? x_holdout.size(0) : 0;
  if (has_holdout) x = torch::cat({x, head.features.apply(as_float(x_holdout))}), y = torch::cat({y, head.targets.apply(as_float(y_holdout))});
  DimensionTask task(x, y, o.l2, x.size(1));
  SmallFitOptions fit{small_fit_adam(o.lr, std::max<int64_t>({1, n_fit, n_held})), o.steps, o.eval_every, o.patience};
  auto r = fit_small(task, index_range(0, n_fit), index_range(n_fit, n_fit + n_held), fit);
  head.linear = {r.best.at("weight"), r.best.at("bias")};
  return {head, r.steps, r.holdout_loss};
}

DimensionTargets dimension_targets(const std::vector<ManifestRow>& rows, const std::vector<std::string>& names) {
  DimensionTargets out;
  std::vector<float> values;
  for (size_t i = 0; i < rows.size(); ++i) {
    bool all = true;
    for (const auto& name : names) all = all && rows[i].dimensions.count(name) > 0;
    if (!all) continue;
    out.rows.push_back(static_cast<int64_t>(i));
    for (const auto& name : names) values.push_back(static_cast<float>(rows[i].dimensions.at(name)));
  }
  out.values = torch::tensor(values, torch::kFloat32).reshape({static_cast<int64_t>(out.rows.size()), static_cast<int64_t>(names.size())});
  return out;
}

void save_dimension_head(const std::string& path, const DimensionHead& h) {
  NamedTensors tensors = {{"dimension_head.weight", h.linear.weight}, {"dimension_head.bias", h.linear.bias},
                          {"dimension_head.feature_mean", h.features.mean}, {"dimension_head.feature_std", h.features.std},
                          {"dimension_head.target_mean", h.targets.mean}, {"dimension_head.target_std", h.targets.std}};
  for (auto& [name, t] : tensors) t = as_float(t.detach());
  save_safetensors(path, tensors, {{"format", kFormat}, {"names", nlohmann::json(h.names).dump()},
                                   {"inputs", nlohmann::json(h.inputs).dump()}, {"labels", nlohmann::json(h.labels).dump()},
                                   {"checkpoint_sha256", h.checkpoint_sha256}});
}

DimensionHead load_dimension_head(const std::string& path) {
  auto content = load_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = content.metadata.find(key);
    if (it == content.metadata.end()) raise(path, ": no '", key, "' in the metadata (not a dimension head: emotune fit-dimensions writes one)");
    return it->second;
  };
  if (meta("format") != kFormat) raise(path, ": format '", meta("format"), "', expected '", kFormat, "'");
  auto tensor = [&](const std::string& name, int64_t dims) {
    auto it = content.tensors.find("dimension_head." + name);
    if (it == content.tensors.end()) raise(path, ": tensor 'dimension_head.", name, "' is missing");
    if (it->second.dim() != dims) raise(path, ": 'dimension_head.", name, "' has ", it->second.dim(), " dimensions, expected ", dims);
    return it->second;
  };
  DimensionHead h;
  try {
    h.names = nlohmann::json::parse(meta("names")).get<std::vector<std::string>>();
    h.inputs = nlohmann::json::parse(meta("inputs")).get<std::vector<std::string>>();
    h.labels = nlohmann::json::parse(meta("labels")).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    raise(path, ": metadata 'names', 'inputs' and 'labels' must be JSON lists of strings: ", e.what());
  }
  h.checkpoint_sha256 = meta("checkpoint_sha256");
  h.linear = {tensor("weight", 2), tensor("bias", 1)};
  h.features = {tensor("feature_mean", 1), tensor("feature_std", 1)};
  h.targets = {tensor("target_mean", 1), tensor("target_std", 1)};
  const auto d = static_cast<int64_t>(h.names.size()), f = h.linear.weight.size(1);
  if (h.linear.weight.size(0) != d || h.linear.bias.size(0) != d || h.targets.mean.size(0) != d || h.targets.std.size(0) != d ||
      h.features.mean.size(0) != f || h.features.std.size(0) != f)
    raise(path, ": tensor shapes disagree with each other and with the ", d, " dimensions named in the metadata");
  return h;
}

}  // namespace emotune
