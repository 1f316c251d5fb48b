#include "dist/communicator.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"
#include "dist/c10d_communicator.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

class LocalProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "none"; }
  void all_reduce_sum(torch::Tensor&, const std::string&) override {}
  void barrier(const std::string&) override {}
};

std::unique_ptr<Communicator>& joined() {
  static std::unique_ptr<Communicator> group;
  return group;
}

}  // namespace

Communicator& local_process() {
  static LocalProcess one;
  return one;
}

Communicator& world() { return joined() ? *joined() : local_process(); }

const LaunchEnv& launch_env() {
  static const LaunchEnv env = read_launch_env();
  return env;
}

std::vector<std::string> available_backends() {
  std::vector<std::string> out{"gloo"};
  if (c10d_has_nccl()) out.push_back("nccl");
  return out;
}

void join_world(const GroupOptions& o) {
  const auto& env = launch_env();
  if (joined() || !env.launched) return;
  // One rank makes a group only when a backend is named for it: so a single-GPU torchrun run can exercise NCCL.
  if (env.world_size == 1 && (o.backend == "auto" || env.master_addr.empty())) return;
  std::string backend = o.backend;
  if (backend == "auto") backend = o.on_cuda && c10d_has_nccl() ? "nccl" : "gloo";
  if (backend == "nccl" && !c10d_has_nccl())
    raise("config key 'distributed.backend' is nccl, but this build has no NCCL (it needs a CUDA LibTorch with NCCL; "
          "docs/distributed.md); use gloo");
  if (backend == "nccl" && !o.on_cuda) raise("config key 'distributed.backend' is nccl, but 'device' is not CUDA (NCCL reduces CUDA tensors); use gloo");
  joined() = make_c10d_communicator(env, backend, o);
  set_progress_shown(env.rank == 0);  // one progress bar per run, rank 0's
  std::fprintf(stderr, "distributed: rank %d of %d (local %d of %d), %s, store %s:%d%s\n", env.rank, env.world_size,
               env.local_rank, env.local_world_size, backend.c_str(), env.master_addr.c_str(), env.master_port,
               env.agent_store ? " (torchrun's agent store)" : env.rank == 0 ? " (hosted here)" : "");
}

void leave_world() {
  if (!joined()) return;
  joined()->barrier("the final barrier");
  joined().reset();
}

std::vector<std::string> all_gather_bytes(Communicator& group, const std::string& bytes, const std::string& what) {
  const int n = group.size();
  if (n == 1) return {bytes};
  auto lengths = torch::zeros({n}, torch::kInt64);
  lengths[group.rank()] = static_cast<int64_t>(bytes.size());
  group.all_reduce_sum(lengths, what + " (lengths)");
  const int64_t longest = lengths.max().item<int64_t>();
  auto table = torch::zeros({n, std::max<int64_t>(1, longest)}, torch::kUInt8);
  if (!bytes.empty()) std::memcpy(table[group.rank()].data_ptr<uint8_t>(), bytes.data(), bytes.size());
  group.all_reduce_sum(table, what);
  std::vector<std::string> out;
  for (int r = 0; r < n; ++r)
    out.emplace_back(reinterpret_cast<const char*>(table[r].data_ptr<uint8_t>()), static_cast<size_t>(lengths[r].item<int64_t>()));
  return out;
}

namespace {
// Where two texts differ: the whole texts when short and on one line, else the first line that differs.
std::string difference(const std::string& a, const std::string& b) {
  if (a.size() + b.size() < 160 && a.find('\n') == std::string::npos && b.find('\n') == std::string::npos)
    return concat("'", a, "' on rank 0, '", b, "' on");
  std::istringstream in_a(a), in_b(b);
  std::string line_a, line_b;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(in_a, line_a)), more_b = static_cast<bool>(std::getline(in_b, line_b));
    if (!more_a) line_a = "(end)";
    if (!more_b) line_b = "(end)";
    if (line_a != line_b || (!more_a && !more_b))
      return concat("line ", line, ": '", line_a, "' on rank 0, '", line_b, "' on");
  }
}
}  // namespace

void require_same_on_every_rank(Communicator& group, const std::vector<std::pair<std::string, std::string>>& named) {
  if (group.size() == 1) return;
  for (const auto& [name, value] : named) {
    auto all = all_gather_bytes(group, value, "comparing the " + name + " of every rank");
    for (int r = 1; r < group.size(); ++r)
      if (all[static_cast<size_t>(r)] != all[0])
        raise("distributed: the ranks disagree on the ", name, " (", difference(all[0], all[static_cast<size_t>(r)]),
              " rank ", r, "); every rank must run the same config, bundle and data (docs/distributed.md)");
  }
}

void require_shared_directory(Communicator& group, const std::string& dir) {
  if (group.size() == 1) return;
  std::string token;
  if (group.is_main()) {
    ensure_directory(dir);
    token = std::to_string(std::random_device{}()) + "-" + std::to_string(std::random_device{}());
  }
  token = all_gather_bytes(group, token, "sharing the run directory's probe name")[0];
  const auto probe = (fs::path(dir) / (".rank-probe-" + token)).string();
  if (group.is_main()) write_file_atomic(probe, token);
  group.barrier("writing the run directory's probe");
  std::string seen;
  if (std::ifstream in(probe); in) std::getline(in, seen);
  const bool ok = seen == token;
  auto first = all_gather_bytes(group, ok ? "" : "x", "checking the run directory's probe");
  group.barrier("reading the run directory's probe");
  if (group.is_main()) fs::remove(probe);
  for (int r = 0; r < group.size(); ++r)
    if (!first[static_cast<size_t>(r)].empty())
      raise("distributed: rank ", r, " does not see run_dir ", dir, " as rank 0 wrote it (the probe file ", probe,
            "): only rank 0 writes checkpoints and every rank reads them, so run_dir must be on a filesystem every "
            "machine shares (docs/distributed.md)");
}

}  // namespace emotune
