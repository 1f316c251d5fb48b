#include "recipes/fit_dimensions.h"

#include <torch/torch.h>

#include <cstdio>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/text.h"
#include "data/world_facts.h"
#include "dimensions/dimension_features.h"
#include "dimensions/dimension_head.h"
#include "eval/metrics.h"
#include "masp/stages.h"
#include "train/run_dir.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

namespace {

// A split's images that carry every rating: their features and ratings.
struct RatedSplit {
  std::string name;
  int64_t images = 0;  // in the split, rated or not
  torch::Tensor x, y;  // [M, F], [M, D]
  int64_t rated() const { return y.size(0); }
};

RatedSplit rated_split(const EmotuneConfig& c, FrozenVLM& vlm, EmotionModel& model, const std::string& split, const char* key) {
  auto images = open_split(vlm, c, split, key);
  auto targets = dimension_targets(images->rows(), c.dimensions.names);
  RatedSplit out{split, images->size(), torch::Tensor(), targets.values};
  std::vector<EmotionSample> samples;  // the label plays no part in the features
  for (auto row : targets.rows) samples.push_back({row, 0});
  std::fprintf(stderr, "fit-dimensions: split '%s': %lld of %lld images rated\n", split.c_str(), static_cast<long long>(samples.size()),
               static_cast<long long>(images->size()));
  if (!samples.empty()) out.x = dimension_features(c.dimensions.inputs, model, *images, samples, eval_options(c));
  return out;
}

std::string no_ratings(const EmotuneConfig& c, const std::string& split) {
  return concat(c.data.manifest, ": no image of split '", split, "' carries every rating of dimensions.names (", joined(c.dimensions.names),
                ") in its field 'dimensions' (docs/data.md)");
}

nlohmann::json split_metrics(const RatedSplit& s, const DimensionHead& head, const WorldFacts& facts) {
  nlohmann::json j = {{"images", s.images}, {"rated", s.rated()}};
  if (s.rated() == 0) return j;
  j["errors"] = dimension_errors(head.predict(s.x), s.y, head.names, head.targets.mean);
  for (const auto& name : head.names)
    if (auto bayes = facts.dimension_bayes_mse(s.name, name)) j["errors"][name]["bayes_mse"] = *bayes;
  return j;
}

std::string report(const EmotuneConfig& c, const std::vector<RatedSplit>& splits, const nlohmann::json& metrics) {
  std::string md = "# Dimension head\n\nCheckpoint: " + (c.eval.checkpoint.empty() ? std::string("zero-shot VLM") : c.eval.checkpoint) +
                   "; inputs: " + joined(c.dimensions.inputs) + "; fit: " + std::to_string(metrics["fit"]["steps"].get<int64_t>()) +
                   " steps.\n\n| split | rating | images | MSE | training mean's MSE | Bayes MSE | MAE | Pearson r |\n|---|---|---|---|---|---|---|---|\n";
  auto cell = [](const nlohmann::json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_number()) return std::string("–");
    char b[32];
    std::snprintf(b, sizeof b, "%.4f", j[key].get<double>());
    return std::string(b);
  };
  for (const auto& s : splits) {
    const auto& m = metrics["splits"][s.name];
    if (!m.contains("errors")) {
      md += "| " + s.name + " | (none rated) | 0 | – | – | – | – | – |\n";
      continue;
    }
    for (const auto& name : c.dimensions.names) {
      const auto& e = m["errors"][name];
      md += "| " + s.name + " | " + name + " | " + std::to_string(e["items"].get<int64_t>()) + " | " + cell(e, "mse") + " | " +
            cell(e, "baseline_mse") + " | " + cell(e, "bayes_mse") + " | " + cell(e, "mae") + " | " + cell(e, "pearson") + " |\n";
    }
  }
  return md;
}

}  // namespace

DimensionsResult run_fit_dimensions(const EmotuneConfig& c) {
  if (c.dimensions.names.empty())
    raise("config key 'dimensions.names' is empty: name the ratings to predict, keys of the manifest's field 'dimensions' (e.g. [valence, arousal])");
  if (c.dimensions.holdout_split == c.data.train_split)
    raise("config key 'dimensions.holdout_split' is the training split '", c.data.train_split, "': early stopping needs images the fit does not see");
  const std::string& checkpoint = c.eval.checkpoint;
  auto vlm = open_bundle(c);
  auto model = make_emotion_model(*vlm, c, checkpoint, parts_in_checkpoint(checkpoint));
  std::vector<RatedSplit> splits{rated_split(c, *vlm, model, c.data.train_split, "data.train_split")};
  if (splits[0].rated() == 0) raise(no_ratings(c, c.data.train_split));
  const bool has_holdout = !c.dimensions.holdout_split.empty();
  if (has_holdout) {
    splits.push_back(rated_split(c, *vlm, model, c.dimensions.holdout_split, "dimensions.holdout_split"));
    if (splits.back().rated() == 0) raise(no_ratings(c, c.dimensions.holdout_split), "; set dimensions.holdout_split: \"\" to fit without early stopping");
  }
  if (c.data.eval_split != c.data.train_split && c.data.eval_split != c.dimensions.holdout_split)
    splits.push_back(rated_split(c, *vlm, model, c.data.eval_split, "data.eval_split"));

  const auto& o = c.dimensions;
  auto fit = fit_dimension_head(o.names, o.inputs, splits[0].x, splits[0].y, has_holdout ? splits[1].x : torch::Tensor(),
                                has_holdout ? splits[1].y : torch::Tensor(), {o.steps, o.lr, o.l2, o.eval_every, o.patience});
  fit.head.checkpoint_sha256 = checkpoint.empty() ? "" : sha256_of_file(checkpoint);
  fit.head.labels = model.labels;

  const auto facts = read_world_facts(c.data.manifest);
  DimensionsResult r;
  r.metrics = {{"checkpoint", checkpoint}, {"inputs", o.inputs}, {"names", o.names}, {"features", splits[0].x.size(1)},
               {"fit", {{"steps", fit.steps}, {"holdout_mse_standardised", fit.holdout_mse}}}, {"splits", nlohmann::json::object()}};
  for (const auto& s : splits) r.metrics["splits"][s.name] = split_metrics(s, fit.head, facts);
  r.report_markdown = report(c, splits, r.metrics);
  const RunDir out = RunDir(c.run_dir).sub("dimensions");
  ensure_directory(out.path());
  r.head_path = out.file("dimension_head.safetensors");
  save_dimension_head(r.head_path, fit.head);
  write_file_atomic(out.file("metrics.json"), r.metrics.dump(2) + "\n");
  write_file_atomic(out.file("report.md"), r.report_markdown);
  return r;
}

}  // namespace emotune
