#include <cstdio>

#include "cli/commands.h"
#include "masp/stages.h"

namespace emotune {
namespace {
void report(const char* stage, const TrainResult& r) {
  std::printf("%s: %s after step %lld of %lld, last loss %.4f, %.1f samples/s, checkpoint %s\n", stage,
              r.finished ? "finished" : "stopped", static_cast<long long>(r.step), static_cast<long long>(r.total_steps),
              r.last_loss, r.samples_per_second, r.checkpoint.c_str());
}
}  // namespace

void register_train_commands(CLI::App& app) {
  auto args1 = std::make_shared<ConfigArgs>();
  auto* s1 = app.add_subcommand("train-aspects", "MASP stage 1: train the aspect modules on aspect Q&A (Eq. 1-2)");
  add_config_options(s1, *args1);
  s1->callback([args1] { report("stage 1", train_aspects(args1->load())); });

  auto args2 = std::make_shared<ConfigArgs>();
  auto* s2 = app.add_subcommand("train-prompt", "MASP stage 2: train the soft prompt with everything else frozen (Eq. 3-5)");
  add_config_options(s2, *args2);
  s2->callback([args2] { report("stage 2", train_prompt(args2->load())); });
}

}  // namespace emotune
