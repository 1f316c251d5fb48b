// Each subcommand registers itself on the app; main.cpp only collects them and reports errors.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "config/config.h"

namespace emotune {

// --config FILE (repeatable, later files win) and --set key=value (repeatable, applied last).
struct ConfigArgs {
  std::vector<std::string> files, overrides;
  EmotuneConfig load() const { return load_config(files, overrides); }
};
void add_config_options(CLI::App* cmd, ConfigArgs& args);

void register_train_commands(CLI::App& app);
void register_eval_command(CLI::App& app);
void register_predict_command(CLI::App& app);
void register_explain_command(CLI::App& app);
void register_info_command(CLI::App& app);
void register_ablate_command(CLI::App& app);
void register_synth_command(CLI::App& app);
void register_prepare_command(CLI::App& app);
void register_sweep_command(CLI::App& app);
void register_report_command(CLI::App& app);
void register_personalize_command(CLI::App& app);
void register_tune_discrete_command(CLI::App& app);
void register_tokenize_command(CLI::App& app);

}  // namespace emotune
