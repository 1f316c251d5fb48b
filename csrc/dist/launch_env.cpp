#include "dist/launch_env.h"

#include <cerrno>
#include <cstdlib>

#include "core/error.h"

namespace emotune {

namespace {

int parse_int(const char* name, const char* text, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
    raise("environment variable ", name, "='", text, "': expected an integer in [", lo, ", ", hi, "] (set by torchrun; docs/distributed.md)");
  return static_cast<int>(v);
}

}  // namespace

std::string LaunchEnv::store_prefix() const {
  return agent_store ? "/worker/attempt_" + std::to_string(restart_count) : std::string();
}

LaunchEnv read_launch_env(const std::function<const char*(const char*)>& getenv_fn) {
  auto get = [&](const char* name) -> const char* {
    const char* v = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return v && *v ? v : nullptr;
  };
  LaunchEnv env;
  const char* rank = get("RANK");
  const char* world = get("WORLD_SIZE");
  if (!rank && !world) return env;
  if (!rank || !world)
    raise("environment: ", rank ? "RANK" : "WORLD_SIZE", " is set but ", rank ? "WORLD_SIZE" : "RANK",
          " is not; a distributed launch sets both (torchrun does; docs/distributed.md)");
  env.launched = true;
  env.world_size = parse_int("WORLD_SIZE", world, 1, 1 << 20);
  env.rank = parse_int("RANK", rank, 0, env.world_size - 1);
  const char* local_rank = get("LOCAL_RANK");
  const char* local_world = get("LOCAL_WORLD_SIZE");
  env.local_world_size = local_world ? parse_int("LOCAL_WORLD_SIZE", local_world, 1, env.world_size) : env.world_size;
  env.local_rank = local_rank ? parse_int("LOCAL_RANK", local_rank, 0, env.local_world_size - 1) : env.rank % env.local_world_size;
  const char* addr = get("MASTER_ADDR");
  const char* port = get("MASTER_PORT");
  // One rank needs no store unless a backend is named for it (dist/communicator.h join_world).
  if (env.world_size == 1 && (!addr || !port)) return env;
  if (!addr || !port)
    raise("environment: WORLD_SIZE=", env.world_size, " but ", !addr ? "MASTER_ADDR" : "MASTER_PORT",
          " is not set: the ranks need the address of the rendezvous store (torchrun sets it; docs/distributed.md)");
  env.master_addr = addr;
  env.master_port = parse_int("MASTER_PORT", port, 1, 65535);
  if (const char* agent = get("TORCHELASTIC_USE_AGENT_STORE")) env.agent_store = std::string(agent) == "True";
  if (env.agent_store) {
    const char* restarts = get("TORCHELASTIC_RESTART_COUNT");
    if (!restarts) raise("environment: TORCHELASTIC_USE_AGENT_STORE=True but TORCHELASTIC_RESTART_COUNT is not set (torchrun sets both)");
    env.restart_count = parse_int("TORCHELASTIC_RESTART_COUNT", restarts, 0, 1 << 20);
  }
  return env;
}

}  // namespace emotune
