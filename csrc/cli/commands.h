// Each subcommand registers itself on the app; main.cpp only collects them and reports errors.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
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
// Runs a command that calls an LLM through llm/'s meter: a budget or call-limit stop (RunStopped; every answered call
// is cached) is printed and exits 75 (EX_TEMPFAIL), so scripts know to rerun the same command.
void run_resumable(const char* command, const std::function<void()>& body);
// `args` with eval.inference set to `inference` after every other override ("" leaves it): eval's and predict's
// --inference.
ConfigArgs inference_config(ConfigArgs args, const std::string& inference);
// A stage-2 checkpoint's labels, emotion question and label-list style replace the config's unless the user
// sets them (cli/checkpoint_labels.cpp); a user's different labels are an error unless labels_from_config.
void adopt_checkpoint_labels(EmotuneConfig& c, const ConfigArgs& args, const std::string& checkpoint, bool labels_from_config);

// Data parallel under torchrun (cli/ranks.cpp): the subcommands that may run on several ranks; join_ranks joins
// them (no-op in one process) with the config's distributed.* keys and checks that every rank has the same config,
// bundle and data; distributed_summary is what `info --runtime` says of the launch.
const std::vector<std::string>& distributed_commands();
void join_ranks(const EmotuneConfig& config);
std::string distributed_summary();

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
void register_refine_command(CLI::App& app);
void register_fit_dimensions_command(CLI::App& app);
void register_tokenize_command(CLI::App& app);
void register_cache_pixels_command(CLI::App& app);
// A subcommand this build lacks (no OpenCV): it takes any arguments and fails saying why (`what` it needs).
void register_unavailable_command(CLI::App& app, const std::string& name, const std::string& what);

}  // namespace emotune
