#include <cstdio>

#include "cli/commands.h"
#include "dpt/discrete_tuner.h"

namespace emotune {

void register_tune_discrete_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("tune-discrete", "discrete prompt tuning per user (paper 000): propose, score, refine, vote");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    try {
      auto result = run_discrete_tuning(args->load());
      std::printf("%s", result.report_markdown.c_str());
    } catch (const RunStopped& stop) {
      // A clean stop: the cache holds every answered call; exit 75 (EX_TEMPFAIL) tells scripts to rerun.
      std::fprintf(stderr, "\nemotune tune-discrete: %s\n", stop.what());
      throw CLI::RuntimeError(75);
    }
  });
}

}  // namespace emotune
