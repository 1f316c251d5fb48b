#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "dimensions/dimension_features.h"
#include "dimensions/dimension_head.h"
#include "dist/communicator.h"
#include "eval/eval_table.h"
#include "eval/evaluate.h"
#include "io/checkpoint.h"
#include "train/run_dir.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
struct EvalArgs {
  ConfigArgs config;
  std::string checkpoint, split, inference;
  bool zero_shot = false, aspects_plain = false, labels_from_config = false;
  std::vector<std::string> rows, datasets;
};

// Checkpoints x datasets (MASP Table 1): rows from eval.checkpoints/--row (else the one checkpoint this
// command would evaluate), columns from eval.datasets/--dataset (else the config's own eval split).
void run_eval_table_command(const EvalArgs& a, const ConfigArgs& args, const EmotuneConfig& c, const std::string& single_checkpoint) {
  auto rows = parse_table_rows(with_entries(c.eval.checkpoints, a.rows));
  if (rows.empty()) rows.push_back({single_checkpoint.empty() ? "zero-shot" : fs::path(single_checkpoint).parent_path().filename().string(), single_checkpoint, {}});
  auto columns = parse_table_columns(with_entries(c.eval.datasets, a.datasets));
  if (columns.empty()) columns.push_back({c.data.eval_split, ""});
  std::string out = !c.eval.out_dir.empty() ? c.eval.out_dir : (fs::path(c.run_dir) / "eval-table").string();
  auto table = run_eval_table(args.files, args.overrides, rows, columns, out);
  if (world().is_main()) std::printf("\n%s\nwritten to %s (table.md, table.csv, table-macro-f1.csv, table.json)\n", table.markdown().c_str(), out.c_str());
}

void run_eval(const EvalArgs& a) {
  const ConfigArgs args = inference_config(a.config, a.inference);
  EmotuneConfig c = args.load();
  join_ranks(c);
  const bool main = world().is_main();  // rank 0 alone writes and prints; every rank scores its share
  std::string split = a.split.empty() ? c.data.eval_split : a.split;
  std::string ckpt = !a.checkpoint.empty() ? a.checkpoint : !c.eval.checkpoint.empty() ? c.eval.checkpoint
                                                          : RunDir(c.run_dir).checkpoint();
  if (a.zero_shot) ckpt.clear();
  if (world().size() > 1 && !ckpt.empty() && fs::exists(ckpt))  // the same path may hold other files on other machines
    require_same_on_every_rank(world(), {{"checkpoint " + ckpt, sha256_of_file(ckpt)}});
  const std::string& head = c.eval.dimension_head;
  if (world().size() > 1 && !head.empty() && fs::exists(head)) require_same_on_every_rank(world(), {{"dimension head " + head, sha256_of_file(head)}});
  if (!head.empty() && (a.aspects_plain || !c.eval.checkpoints.empty() || !c.eval.datasets.empty() || !a.rows.empty() || !a.datasets.empty()))
    raise("config key 'eval.dimension_head' rates the images of one stage-2 evaluation; it does not apply to the checkpoints x datasets "
          "table (eval.checkpoints, eval.datasets, --row, --dataset) or to --aspects-plain");
  if (!c.eval.checkpoints.empty() || !c.eval.datasets.empty() || !a.rows.empty() || !a.datasets.empty())
    return run_eval_table_command(a, args, c, ckpt);  // each column is a dataset with its own labels, chosen on purpose
  if (!a.aspects_plain && !ckpt.empty() && std::filesystem::exists(ckpt)) adopt_checkpoint_labels(c, args, ckpt, a.labels_from_config);
  std::string out = !c.eval.out_dir.empty() ? c.eval.out_dir : (fs::path(c.run_dir) / ("eval-" + split)).string();
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, split, "--split or data.eval_split");
  EvalOptions options = eval_options(c);
  if (a.aspects_plain) ckpt.clear();
  std::string stage = a.aspects_plain ? "aspects" : ckpt.empty() ? "zero-shot" : summarize_checkpoint(ckpt).info.stage;
  if (stage == "aspects") {
    if (!head.empty()) raise("config key 'eval.dimension_head' rates a stage-2 model's images, and ", ckpt, " is a stage-1 (aspects) checkpoint");
    AspectModules modules{nullptr};
    if (!a.aspects_plain) modules = load_aspect_modules(c, vlm->spec().hidden_size, ckpt);
    SequenceBuilder builder(*vlm, layout_options(c));
    auto samples = make_aspect_samples(*images, c.masp.aspects, c.masp.skip_zero_values);
    auto result = evaluate_aspects(*vlm, builder, modules ? modules.get() : nullptr, *images, samples, aspect_question_lists(c.masp), options, c.masp.aspects);
    if (a.aspects_plain) out += "-plain";
    auto j = result.to_json();
    if (!main) return;
    ensure_directory(out);
    write_file_atomic((fs::path(out) / "aspects.json").string(), j.dump(2) + "\n");
    for (size_t i = 0; i < result.aspects.size(); ++i)
      std::printf("%-20s %6.2f%% (%lld/%lld)\n", result.aspects[i].c_str(), 100.0 * j[result.aspects[i]]["accuracy"].get<double>(),
                  static_cast<long long>(result.correct[i]), static_cast<long long>(result.total[i]));
    std::printf("written to %s\n", out.c_str());
    return;
  }
  auto model = make_emotion_model(*vlm, c, ckpt, parts_in_checkpoint(ckpt));
  auto samples = make_emotion_samples(*images, c.data.labels);
  auto result = evaluate_emotions(model, *images, samples, options);
  if (!head.empty()) {
    const auto dimension_head = load_dimension_head(head);
    check_dimension_head(dimension_head, head, ckpt, model);
    result.dimensions = score_dimensions(dimension_head, head, model, *images, result, options);
  }
  nlohmann::json context = {{"checkpoint", ckpt}, {"split", split}, {"mode", name_of(c.eval.mode)},
                             {"inference", name_of(c.eval.inference)}, {"skipped_images", images->skipped()}};
  if (!head.empty()) context["dimension_head"] = head;
  const bool sepm = c.eval.inference == Inference::Sepm;
  if (sepm)
    context["sepm"] = {{"alpha", c.sepm.alpha}, {"beta", c.sepm.beta}, {"variance", name_of(c.sepm.variance)},
                       {"drop_over", name_of(c.sepm.drop_over)}, {"ambiguity_note", c.sepm.ambiguity_note}};
  write_emotion_evaluation(out, result, model, *images, context);
  if (main) std::printf("%s accuracy %.2f%% (%lld/%lld, %s mode%s%s) on split '%s'; written to %s\n", ckpt.empty() ? "zero-shot" : ckpt.c_str(),
              100.0 * result.metrics.accuracy, static_cast<long long>(result.metrics.correct),
              static_cast<long long>(result.metrics.total), name_of(c.eval.mode), sepm ? ", SEPM" : "",
              result.metrics.unmatched ? concat(", ", result.metrics.unmatched, sepm ? " answers named no kept option" : " answers matched no label").c_str() : "",
              split.c_str(), out.c_str());
}
}  // namespace

void register_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "evaluate a checkpoint on a split (stage 2: emotion accuracy; stage 1: aspect answers)");
  add_config_options(cmd, a->config);
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint (default: eval.checkpoint, else run_dir/checkpoint.safetensors)");
  cmd->add_option("--split", a->split, "split to evaluate (default: data.eval_split)");
  cmd->add_option("--inference", a->inference, "plain or sepm (SEPM's coarse-to-fine inference, docs/sepm.md); sets eval.inference")
      ->check(CLI::IsMember({"plain", "sepm"}));
  cmd->add_flag("--zero-shot", a->zero_shot, "evaluate the frozen VLM alone (the V row of Table 2)");
  cmd->add_flag("--labels-from-config", a->labels_from_config,
                "rank the config's data.labels even where the checkpoint was trained on others");
  cmd->add_flag("--aspects-plain", a->aspects_plain, "the bundle's own aspect answers: V_global and each aspect's first question, no modules");
  cmd->add_option("--row", a->rows, "a table row NAME=CHECKPOINT (repeatable; NAME= alone: zero-shot); adds to eval.checkpoints");
  cmd->add_option("--dataset", a->datasets, "a table column NAME=dataset.yaml from emotune prepare (repeatable); adds to eval.datasets");
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace emotune
