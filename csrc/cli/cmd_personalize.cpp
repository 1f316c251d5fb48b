#include <cstdio>

#include "cli/commands.h"
#include "dist/communicator.h"
#include "recipes/personalize.h"

namespace emotune {

void register_personalize_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("personalize", "fit per-user soft prompts and/or personalisation heads, and report per-user accuracy");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    join_ranks(args->load());
    auto result = run_personalize(args->files, args->overrides);
    if (world().is_main()) std::printf("%s", result.report_markdown.c_str());
  });
}

}  // namespace emotune
