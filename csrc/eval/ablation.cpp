#include "eval/ablation.h"

#include <filesystem>
#include <sstream>

#include "config/config.h"
#include "core/atomic_file.h"
#include "eval/evaluate.h"
#include "masp/stages.h"
#include "synth/affect_world.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100.0 * v);
  return buf;
}
}  // namespace

AblationResult run_ablation(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  const EmotuneConfig base = load_config(files, overrides);
  const std::string root = base.run_dir;
  const std::string aspects_dir = (fs::path(root) / "aspects").string();
  const std::string prompt_dir = (fs::path(root) / "prompt").string();
  const std::string prompt_v_dir = (fs::path(root) / "prompt-v").string();
  const std::string aspects_ckpt = (fs::path(aspects_dir) / "checkpoint.safetensors").string();

  std::fprintf(stderr, "== ablation stage 1: aspect modules -> %s\n", aspects_dir.c_str());
  train_aspects(load_config(files, with_entries(with_entries(overrides, base.ablation.stage1_set), {"run_dir=" + aspects_dir})));
  std::fprintf(stderr, "== ablation stage 2 with aspects (V+A+S) -> %s\n", prompt_dir.c_str());
  train_prompt(load_config(files, with_entries(with_entries(overrides, base.ablation.stage2_set),
                                       {"run_dir=" + prompt_dir, "masp.use_aspects=true", "masp.aspects_checkpoint=" + aspects_ckpt})));
  std::fprintf(stderr, "== ablation stage 2 without aspects (V+S) -> %s\n", prompt_v_dir.c_str());
  train_prompt(load_config(files, with_entries(with_entries(overrides, base.ablation.stage2_set), {"run_dir=" + prompt_v_dir, "masp.use_aspects=false"})));

  EmotuneConfig c = base;
  c.masp.aspects_checkpoint = aspects_ckpt;
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, c.data.eval_split);
  auto samples = make_emotion_samples(*images, c.data.labels);
  struct Setting {
    const char* name;
    std::string checkpoint;
    EmotionModelParts parts;
  };
  const std::string prompt_ckpt = (fs::path(prompt_dir) / "checkpoint.safetensors").string();
  const std::string prompt_v_ckpt = (fs::path(prompt_v_dir) / "checkpoint.safetensors").string();
  const std::vector<Setting> settings = {
      {"V", "", {false, false, false}},
      {"V+A", aspects_ckpt, {true, false, false}},
      {"V+S", prompt_v_ckpt, {false, true, false}},
      {"V+A+rS", aspects_ckpt, {true, true, true}},
      {"V+A+S", prompt_ckpt, {true, true, false}},
  };
  EvalOptions eval{c.eval.mode, c.eval.batch_size, c.eval.max_new_tokens, true};
  AblationResult result;
  nlohmann::json summary = nlohmann::json::object();
  for (const auto& s : settings) {
    std::fprintf(stderr, "== evaluating %s on split '%s'\n", s.name, c.data.eval_split.c_str());
    auto model = make_emotion_model(*vlm, c, s.checkpoint, s.parts);
    auto evaluation = evaluate_emotions(model, *images, samples, eval);
    std::string dir = (fs::path(root) / "ablation" / s.name).string();
    write_emotion_evaluation(dir, evaluation, model, *images, {{"setting", s.name}, {"checkpoint", s.checkpoint}, {"split", c.data.eval_split}, {"mode", c.eval.mode}});
    result.rows.push_back({s.name, evaluation.metrics});
    summary[s.name] = evaluation.metrics.accuracy;
  }
  std::ostringstream t;
  t << "| setting | accuracy (%) | correct / total |\n|---|---|---|\n";
  for (const auto& r : result.rows)
    t << "| " << r.name << " | " << percent(r.metrics.accuracy) << " | " << r.metrics.correct << " / " << r.metrics.total << " |\n";
  t << "| chance (1/" << c.data.labels.size() << ") | " << percent(1.0 / static_cast<double>(c.data.labels.size())) << " | |\n";
  if (c.ablation.reference_accuracy >= 0) t << "| " << c.ablation.reference_name << " | " << percent(c.ablation.reference_accuracy) << " | |\n";
  // An affect world knows its optimum: world.json beside the manifest holds each split's Bayes limit.
  auto info = read_world_info(c.data.manifest);
  if (info.is_object() && info.contains("splits") && info["splits"].contains(c.data.eval_split)) {
    double bayes = info["splits"][c.data.eval_split]["bayes_accuracy"].get<double>();
    t << "| Bayes-optimal (world.json) | " << percent(bayes) << " | |\n";
    summary["bayes_optimal"] = bayes;
  }
  result.table_markdown = t.str();
  summary["split"] = c.data.eval_split;
  summary["mode"] = c.eval.mode;
  write_file_atomic((fs::path(root) / "ablation.md").string(), result.table_markdown);
  write_file_atomic((fs::path(root) / "ablation.json").string(), summary.dump(2) + "\n");
  return result;
}

}  // namespace emotune
