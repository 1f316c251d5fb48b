#include "cli/commands.h"

namespace emotune {

void add_config_options(CLI::App* cmd, ConfigArgs& args) {
  cmd->add_option("-c,--config", args.files, "YAML config file (repeatable; later files override earlier ones)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-s,--set", args.overrides, "override one config key: key=value (repeatable, applied last)");
}

ConfigArgs inference_config(ConfigArgs args, const std::string& inference) {
  if (!inference.empty()) args.overrides.push_back("eval.inference=" + inference);
  return args;
}

}  // namespace emotune
