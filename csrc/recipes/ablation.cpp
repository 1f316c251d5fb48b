#include "recipes/ablation.h"

#include <sstream>

#include "core/atomic_file.h"
#include "data/world_facts.h"
#include "dist/communicator.h"
#include "eval/evaluate.h"
#include "recipes/stage_runs.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

namespace {
std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100.0 * v);
  return buf;
}
}  // namespace

AblationRecipe::AblationRecipe(EmotuneConfig config)
    : config_(std::move(config)), root_(config_.run_dir),
      aspects_checkpoint_(config_.masp.aspects_checkpoint.empty() ? root_.sub("aspects").checkpoint() : config_.masp.aspects_checkpoint) {}

void AblationRecipe::train() {
  ensure_aspects(config_, root_.sub("aspects"), "ablation", config_.ablation.stage1);
  EmotuneConfig stage2 = with_overlay(config_, config_.ablation.stage2);
  stage2.masp.use_aspects = true;
  stage2.masp.aspects_checkpoint = aspects_checkpoint_;
  train_prompt_into(stage2, root_.sub("prompt"), "ablation", "with aspects (V+A+S)");
  stage2.masp.use_aspects = false;
  stage2.masp.aspects_checkpoint = config_.masp.aspects_checkpoint;
  train_prompt_into(stage2, root_.sub("prompt-v"), "ablation", "without aspects (V+S)");
}

std::string AblationRecipe::checkpoint_of(AblationCheckpoint which) const {
  switch (which) {
    case AblationCheckpoint::None: return "";
    case AblationCheckpoint::Aspects: return aspects_checkpoint_;
    case AblationCheckpoint::Prompt: return root_.sub("prompt").checkpoint();
    case AblationCheckpoint::PromptWithoutAspects: return root_.sub("prompt-v").checkpoint();
  }
  return "";
}

AblationResult AblationRecipe::evaluate() const {
  EmotuneConfig c = config_;
  c.masp.aspects_checkpoint = aspects_checkpoint_;
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, c.data.eval_split, "data.eval_split");
  auto samples = make_emotion_samples(*images, c.data.labels);
  const auto eval = eval_options(c);
  AblationResult result;
  nlohmann::json summary = nlohmann::json::object();
  for (const auto& s : kAblationSettings) {
    std::fprintf(stderr, "== evaluating %s on split '%s'\n", s.name, c.data.eval_split.c_str());
    const std::string checkpoint = checkpoint_of(s.checkpoint);
    auto model = make_emotion_model(*vlm, c, checkpoint, s.parts);
    auto evaluation = evaluate_emotions(model, *images, samples, eval);
    write_emotion_evaluation(root_.sub("ablation").file(s.name), evaluation, model, *images,
                             {{"setting", s.name}, {"checkpoint", checkpoint}, {"split", c.data.eval_split}, {"mode", name_of(c.eval.mode)},
                              {"inference", name_of(c.eval.inference)}});
    result.rows.push_back({s.name, evaluation.metrics});
    summary[s.name] = evaluation.metrics.accuracy;
  }
  result.table_markdown = table_of(result.rows, summary);
  summary["split"] = c.data.eval_split;
  summary["mode"] = name_of(c.eval.mode);
  if (!world().is_main()) return result;  // rank 0 alone writes
  write_file_atomic(root_.file("ablation.md"), result.table_markdown);
  write_file_atomic(root_.file("ablation.json"), summary.dump(2) + "\n");
  return result;
}

std::string AblationRecipe::table_of(const std::vector<AblationRow>& rows, nlohmann::json& summary) const {
  const auto& c = config_;
  std::ostringstream t;
  t << "| setting | accuracy (%) | correct / total |\n|---|---|---|\n";
  for (const auto& r : rows)
    t << "| " << r.name << " | " << percent(r.metrics.accuracy) << " | " << r.metrics.correct << " / " << r.metrics.total << " |\n";
  t << "| chance (1/" << c.data.labels.size() << ") | " << percent(1.0 / static_cast<double>(c.data.labels.size())) << " | |\n";
  if (c.ablation.reference_accuracy >= 0) t << "| " << c.ablation.reference_name << " | " << percent(c.ablation.reference_accuracy) << " | |\n";
  // An affect world knows its optimum: world.json beside the manifest holds each split's Bayes limit.
  if (auto bayes = read_world_facts(c.data.manifest).split_bayes(c.data.eval_split)) {
    t << "| Bayes-optimal (world.json) | " << percent(*bayes) << " | |\n";
    summary["bayes_optimal"] = *bayes;
  }
  return t.str();
}

AblationResult run_ablation(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  return AblationRecipe(load_config(files, overrides)).run();
}

}  // namespace emotune
