// How this process was launched: torchrun's environment (torch.distributed.run), or nothing (one process).
//
// torchrun sets, per worker: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and, when
// its agent already hosts the rendezvous TCPStore at MASTER_ADDR:MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE=True
// with TORCHELASTIC_RESTART_COUNT (every rank is then a store client under the key prefix
// "/worker/attempt_<restart count>", as torch.distributed's own rendezvous does: torch/distributed/rendezvous.py
// _create_c10d_store). Without the agent store, rank 0 hosts the store.
#pragma once
#include <functional>
#include <string>

namespace emotune {

struct LaunchEnv {
  bool launched = false;  // RANK and WORLD_SIZE were set
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr;
  int master_port = 0;
  bool agent_store = false;  // TORCHELASTIC_USE_AGENT_STORE=True: every rank is a client of the agent's store
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT
  // The key prefix of the store this run's ranks meet under.
  std::string store_prefix() const;
};

// Reads (and checks) the variables above through `getenv`; a variable that is malformed, out of range or missing
// while its companions are set is an error naming it and what was expected.
LaunchEnv read_launch_env(const std::function<const char*(const char*)>& getenv = nullptr);

}  // namespace emotune
