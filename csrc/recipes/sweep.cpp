#include "recipes/sweep.h"

#include "core/error.h"
#include "recipes/stage_runs.h"

namespace emotune {

namespace {
// One row per swept value or per aspect, each with the config keys that make it.
std::vector<TableRow> sweep_rows(const EmotuneConfig& c) {
  std::vector<TableRow> rows;
  if (c.sweep.single_aspect) {
    if (!c.sweep.key.empty()) raise("config: set either sweep.key or sweep.single_aspect, not both");
    for (const auto& a : c.masp.aspects)
      rows.push_back({a, "", ConfigOverlay().set("masp.aspects", "[" + a + "]", "sweep.single_aspect").set("masp.use_aspects", "true", "sweep.single_aspect")});
  } else {
    if (c.sweep.key.empty() || c.sweep.values.empty()) raise("config: a sweep needs sweep.key and sweep.values, or sweep.single_aspect: true");
    for (const auto& v : c.sweep.values) rows.push_back({c.sweep.key + "=" + v, "", ConfigOverlay().set(c.sweep.key, v, "sweep.values")});
  }
  // Fail on a bad key or value before any training starts.
  for (const auto& r : rows) with_overlay(c, r.settings);
  return rows;
}
}  // namespace

SweepRecipe::SweepRecipe(std::vector<std::string> files, std::vector<std::string> overrides)
    : files_(std::move(files)), overrides_(std::move(overrides)), config_(load_config(files_, overrides_)), rows_(sweep_rows(config_)) {}

void SweepRecipe::train() {
  const RunDir root(config_.run_dir);
  std::string aspects_checkpoint = config_.masp.aspects_checkpoint;
  if (config_.masp.use_aspects || config_.sweep.single_aspect) aspects_checkpoint = ensure_aspects(config_, root.sub("aspects"), "sweep");
  for (auto& row : rows_) {
    // Rows share the one stage-1 checkpoint (trained above, or the config's).
    if (!aspects_checkpoint.empty())
      row.settings.layers.insert(row.settings.layers.begin(), {YAML::Node(), "masp.aspects_checkpoint=" + aspects_checkpoint, "sweep stage 1"});
    const RunDir dir = root.sub("sweep").sub(row.name);
    row.checkpoint = train_prompt_into(with_overlay(config_, row.settings), dir, "sweep", row.name);
  }
}

EvalTable SweepRecipe::evaluate() const {
  auto columns = config_.eval.datasets.empty() ? std::vector<TableColumn>{{config_.data.eval_split, ""}} : parse_table_columns(config_.eval.datasets);
  return run_eval_table(files_, overrides_, rows_, columns, RunDir(config_.run_dir).file("sweep"));
}

EvalTable run_sweep(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  return SweepRecipe(files, overrides).run();
}

}  // namespace emotune
