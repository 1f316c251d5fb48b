#include <cstdio>

#include "cli/commands.h"
#include "dpt/discrete_tuner.h"

namespace emotune {

void register_tune_discrete_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("tune-discrete", "discrete prompt tuning per user (paper 000): propose, score, refine, vote");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    run_resumable("tune-discrete", [&] {
      auto result = run_discrete_tuning(args->load());
      std::printf("%s", result.report_markdown.c_str());
    });
  });
}

}  // namespace emotune
