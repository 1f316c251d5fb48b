#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "cli/commands.h"
#include "dist/communicator.h"
#include "masp/stages.h"

namespace emotune {
namespace {
void report(const char* stage, const TrainResult& r) {
  if (!world().is_main()) return;
  std::printf("%s: %s after step %lld of %lld, last loss %.4f, %.1f samples/s, checkpoint %s\n", stage,
              r.finished ? "finished" : "stopped", static_cast<long long>(r.step), static_cast<long long>(r.total_steps),
              r.last_loss, r.samples_per_second, r.checkpoint.c_str());
}

// The config's section for this stage — ablation.stage1 for train-aspects, ablation.stage2 for train-prompt: the
// main job's settings per stage, which `emotune ablate` applies as well — on top of the config, and the user's
// own --set entries once more after it, so a key given on the command line still wins. So the README's
// step-by-step commands train what the main job trains (issue 28, finding 6).
EmotuneConfig stage_config(const ConfigArgs& args, bool stage1) {
  EmotuneConfig c = args.load();
  ConfigOverlay overlay = stage1 ? c.ablation.stage1 : c.ablation.stage2;
  if (overlay.empty()) return c;
  YAML::Emitter said;
  said << YAML::Flow << overlay.merged();
  for (const auto& o : args.overrides) {
    const auto eq = o.find('=');
    if (eq != std::string::npos && o.rfind("ablation.", 0) != 0) overlay.set(o.substr(0, eq), o.substr(eq + 1));
  }
  std::fprintf(stderr, "stage %d: the config's ablation.stage%d section applies: %s\n", stage1 ? 1 : 2, stage1 ? 1 : 2, said.c_str());
  return with_overlay(c, overlay);
}
}  // namespace

void register_train_commands(CLI::App& app) {
  auto args1 = std::make_shared<ConfigArgs>();
  auto* s1 = app.add_subcommand("train-aspects", "MASP stage 1: train the aspect modules on aspect Q&A (Eq. 1-2)");
  add_config_options(s1, *args1);
  s1->callback([args1] {
    auto c = stage_config(*args1, true);
    join_ranks(c);
    report("stage 1", train_aspects(c));
  });

  auto args2 = std::make_shared<ConfigArgs>();
  auto* s2 = app.add_subcommand("train-prompt", "MASP stage 2: train the soft prompt with everything else frozen (Eq. 3-5)");
  add_config_options(s2, *args2);
  s2->callback([args2] {
    auto c = stage_config(*args2, false);
    join_ranks(c);
    report("stage 2", train_prompt(c));
  });
}

}  // namespace emotune
