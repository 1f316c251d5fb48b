#include <cstdio>

#include "cli/commands.h"
#include "recipes/lantern_refine.h"

namespace emotune {

void register_refine_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("refine", "Lantern (paper 004): an LLM refines a vanilla model's predictions over receptive fields; fused by attention");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    run_resumable("refine", [&] {
      auto result = run_lantern_refine(args->load());
      std::printf("%s", result.report_markdown.c_str());
    });
  });
}

}  // namespace emotune
