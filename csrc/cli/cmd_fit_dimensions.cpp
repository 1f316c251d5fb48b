#include <cstdio>

#include "cli/commands.h"
#include "recipes/fit_dimensions.h"

namespace emotune {

void register_fit_dimensions_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("fit-dimensions", "fit a dimension head: valence, arousal, ... from eval.checkpoint's stage-2 features (docs/dimensions.md)");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    auto result = run_fit_dimensions(args->load());
    std::printf("%s\nwritten: %s\n", result.report_markdown.c_str(), result.head_path.c_str());
  });
}

}  // namespace emotune
