// The process group a run trains in: one process (rank 0 of 1), or the ranks torchrun launched, joined through
// torch.distributed's c10d (Gloo on CPU, NCCL on CUDA; dist/c10d_communicator.cpp). LibTorch's C++ API has the
// process groups but no DistributedDataParallel: emotune reduces its own gradients (train/trainer.cpp), and every
// other collective it needs (gathered predictions, fingerprints, per-user results) is a sum over ranks here.
//
// Every collective is called by every rank in the same order. One that fails — a rank died (its connections
// closed) or hung past distributed.timeout_s — raises emotune::Error naming the collective, on every rank that
// is still alive, so no rank waits forever (docs/distributed.md).
#pragma once
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dist/launch_env.h"

namespace emotune {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "none" (one process), "gloo" or "nccl"
  // Σ over ranks, in place, the same result on every rank; `what` names the collective in errors. Any device and
  // dtype (copied to the backend's device and back where they differ).
  virtual void all_reduce_sum(torch::Tensor& tensor, const std::string& what) = 0;
  virtual void barrier(const std::string& what) = 0;
  bool is_main() const { return rank() == 0; }
};

// The one-process group: every collective is the identity.
Communicator& local_process();

struct GroupOptions {
  std::string backend = "auto";  // auto | gloo | nccl (auto: nccl when the run is on CUDA and LibTorch has it)
  std::chrono::milliseconds timeout{300000};
  bool on_cuda = false;          // the run's device is CUDA: with NCCL, this rank uses cuda:LOCAL_RANK
};

// This process's group, as torch.distributed's default group: local_process() until join_world() succeeds.
Communicator& world();
const LaunchEnv& launch_env();  // read once, at the first call
// Joins the group the launch environment describes (no-op when not launched, or already joined; at world size 1 only
// when a backend is named, not auto); rank 0 hosts the rendezvous store unless torchrun's agent does. Fails with an
// error naming what went wrong, within the timeout.
void join_world(const GroupOptions& options);
// A final barrier, then the group is left (before the process exits, so the store's host leaves last).
void leave_world();
// Which backends this build has ("gloo", and "nccl" when built against a CUDA LibTorch with NCCL).
std::vector<std::string> available_backends();

// Built on all_reduce_sum:
// Every rank's bytes, in rank order, on every rank.
std::vector<std::string> all_gather_bytes(Communicator& group, const std::string& bytes, const std::string& what);
// Every rank computes the same named values (config, bundle, data...) or none goes on: an error naming the first
// that differs, its value on rank 0 and on the rank that differs.
void require_same_on_every_rank(Communicator& group, const std::vector<std::pair<std::string, std::string>>& named);
// Fails unless every rank sees the same directory (rank 0 writes a probe file there, the others read it): run_dir
// must be shared between machines, since only rank 0 writes checkpoints and every rank reads them.
void require_shared_directory(Communicator& group, const std::string& dir);

}  // namespace emotune
