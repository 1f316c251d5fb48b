#include <cstdio>

#include "cli/commands.h"
#include "dist/communicator.h"
#include "recipes/ablation.h"
#include "recipes/sweep.h"

namespace emotune {

void register_ablate_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("ablate", "MASP Table 2 on one split: train what is missing, evaluate V, V+A, V+S, V+A+rS, V+A+S");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    join_ranks(args->load());
    auto result = run_ablation(args->files, args->overrides);
    if (world().is_main()) std::printf("\n%s", result.table_markdown.c_str());
  });
}

void register_sweep_command(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand("sweep", "stage-2 runs that differ in one setting (sweep.key/values, or sweep.single_aspect), evaluated as one table");
  add_config_options(cmd, *args);
  cmd->callback([args] {
    join_ranks(args->load());
    auto table = run_sweep(args->files, args->overrides);
    if (world().is_main()) std::printf("\n%s", table.markdown().c_str());
  });
}

}  // namespace emotune
