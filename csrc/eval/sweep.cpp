#include "eval/sweep.h"

#include <filesystem>

#include "config/config.h"
#include "core/error.h"
#include "masp/stages.h"

namespace emotune {
namespace fs = std::filesystem;

EvalTable run_sweep(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  const EmotuneConfig base = load_config(files, overrides);
  std::vector<TableRow> settings;
  if (base.sweep.single_aspect) {
    if (!base.sweep.key.empty()) raise("config: set either sweep.key or sweep.single_aspect, not both");
    for (const auto& a : base.masp.aspects) settings.push_back({a, "", {"masp.aspects=[" + a + "]", "masp.use_aspects=true"}});
  } else {
    if (base.sweep.key.empty() || base.sweep.values.empty()) raise("config: a sweep needs sweep.key and sweep.values, or sweep.single_aspect: true");
    for (const auto& v : base.sweep.values) settings.push_back({base.sweep.key + "=" + v, "", {base.sweep.key + "=" + v}});
  }
  // Fail on a bad key or value before any training starts.
  for (const auto& s : settings) load_config(files, with_entries(overrides, s.overrides));

  std::vector<std::string> shared;
  const bool any_aspects = base.masp.use_aspects || base.sweep.single_aspect;
  if (any_aspects && base.masp.aspects_checkpoint.empty()) {
    const auto aspects_dir = (fs::path(base.run_dir) / "aspects").string();
    std::fprintf(stderr, "== sweep stage 1: aspect modules -> %s\n", aspects_dir.c_str());
    train_aspects(load_config(files, with_entries(overrides, {"run_dir=" + aspects_dir})));
    shared.push_back("masp.aspects_checkpoint=" + (fs::path(aspects_dir) / "checkpoint.safetensors").string());
  }
  for (auto& s : settings) {
    const auto dir = (fs::path(base.run_dir) / "sweep" / s.name).string();
    std::fprintf(stderr, "== sweep stage 2, %s -> %s\n", s.name.c_str(), dir.c_str());
    s.overrides = with_entries(shared, s.overrides);
    train_prompt(load_config(files, with_entries(with_entries(overrides, s.overrides), {"run_dir=" + dir})));
    s.checkpoint = (fs::path(dir) / "checkpoint.safetensors").string();
  }
  auto columns = base.eval.datasets.empty() ? std::vector<TableColumn>{{base.data.eval_split, ""}} : parse_table_columns(base.eval.datasets);
  return run_eval_table(files, overrides, settings, columns, (fs::path(base.run_dir) / "sweep").string());
}

}  // namespace emotune
