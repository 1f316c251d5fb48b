// The c10d process group behind world() (dist/communicator.h); only dist/ includes this.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace emotune {

// Connects to (or, on rank 0 without torchrun's agent store, hosts) the TCPStore at MASTER_ADDR:MASTER_PORT and
// creates the process group of `backend` ("gloo" or "nccl") over it.
std::unique_ptr<Communicator> make_c10d_communicator(const LaunchEnv& env, const std::string& backend,
                                                     const GroupOptions& options);
bool c10d_has_nccl();

}  // namespace emotune
