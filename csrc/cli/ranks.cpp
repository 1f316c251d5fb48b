// The commands that run data parallel under torchrun (docs/distributed.md) join its ranks here.
#include <algorithm>
#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "core/sha256.h"
#include "dist/communicator.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

// bundle.yaml's digest and the size of every file beside it: cheap (no weights are read) and enough to catch a
// rank on another export.
std::string bundle_fingerprint(const std::string& bundle) {
  const auto yaml = fs::path(bundle) / "bundle.yaml";
  if (!fs::exists(yaml)) return "no bundle.yaml at " + bundle;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(bundle))
    if (e.is_regular_file()) files.push_back(e.path().filename().string() + ":" + std::to_string(e.file_size()));
  std::sort(files.begin(), files.end());
  std::string sizes;
  for (const auto& f : files) sizes += f + " ";
  return "bundle.yaml sha256 " + sha256_of_file(yaml.string()).substr(0, 16) + ", files " + sha256_hex(sizes).substr(0, 16);
}

std::string data_fingerprint(const EmotuneConfig& c) {
  if (c.data.manifest.empty() || !fs::exists(c.data.manifest)) return "no manifest at '" + c.data.manifest + "'";
  return "manifest sha256 " + sha256_of_file(c.data.manifest);
}

}  // namespace

const std::vector<std::string>& distributed_commands() {
  static const std::vector<std::string> names{"train-aspects", "train-prompt", "eval", "ablate", "sweep", "personalize"};
  return names;
}

void join_ranks(const EmotuneConfig& c) {
  if (!launch_env().launched) return;
  GroupOptions o;
  o.backend = c.distributed.backend;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(c.distributed.timeout_s * 1000.0));
  o.on_cuda = c.device.rfind("cuda", 0) == 0;
  join_world(o);
  require_same_on_every_rank(world(), {{"config", config_to_yaml(c)}, {"bundle", bundle_fingerprint(c.bundle)},
                                       {"data", data_fingerprint(c)}});
}

std::string distributed_summary() {
  const auto& env = launch_env();
  if (!env.launched) return "one process (no torchrun environment: RANK, WORLD_SIZE unset)";
  std::string backends;
  for (const auto& b : available_backends()) backends += (backends.empty() ? "" : ", ") + b;
  return concat("rank ", env.rank, " of ", env.world_size, " (local ", env.local_rank, " of ", env.local_world_size, "), store ",
                env.master_addr.empty() ? std::string("none") : concat(env.master_addr, ":", env.master_port),
                env.agent_store ? " (torchrun's agent store)" : "", "; backends built: ", backends);
}

}  // namespace emotune
