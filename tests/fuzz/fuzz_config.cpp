// The YAML config loader with --set overrides (config/config.h). Input: the YAML file, a NUL byte, then one
// --set entry per line.
#include <cstdlib>
#include <sstream>

#include "config/config.h"
#include "fuzz_target.h"

EMOTUNE_FUZZ_TARGET(config) {
  using namespace emotune;
  auto [yaml, sets] = fuzz::split_at_nul(input);
  std::vector<std::string> overrides;
  std::istringstream lines(sets);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) overrides.push_back(line);
  auto config = load_config({fuzz::scratch_file("config.yaml", yaml)}, overrides);
  // A loaded config is stored in every checkpoint as YAML: it must load back to itself.
  const auto stored = config_to_yaml(config);
  auto again = load_config({fuzz::scratch_file("stored.yaml", stored)}, {});
  if (config_to_yaml(again) != stored) std::abort();
}
