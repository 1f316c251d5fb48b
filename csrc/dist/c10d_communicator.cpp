// The one file that includes c10d's headers. The process groups' C++ API is the same in LibTorch 1.13 (Debian's;
// ProcessGroupGloo derives from ProcessGroup) and 2.x (the GPU machines'; it derives from Backend): emotune holds
// the concrete group and calls only allreduce(tensors)->wait(), which both spell alike. What differs between the
// versions stays in this file.
//
// USE_C10D_GLOO (and USE_C10D_NCCL with EMOTUNE_WITH_NCCL) are set for this file alone (CMakeLists.txt): c10d's
// headers declare the groups only under them.
#include "dist/c10d_communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>
#ifdef EMOTUNE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>

#include "core/error.h"

namespace emotune {

namespace {

std::string seconds(std::chrono::milliseconds t) { return concat(static_cast<double>(t.count()) / 1000.0, " s"); }

// The first line of what c10d or Gloo said, without LibTorch's backtrace.
std::string reason(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  const std::string text = c10 ? c10->what_without_backtrace() : e.what();
  return text.substr(0, text.find('\n'));
}

template <typename Group>
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<Group> group, int rank, int size, std::string backend, torch::Device device,
                   std::chrono::milliseconds timeout)
      : group_(std::move(group)), rank_(rank), size_(size), backend_(std::move(backend)), device_(device), timeout_(timeout) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return backend_; }

  void all_reduce_sum(torch::Tensor& tensor, const std::string& what) override {
    const bool moved = tensor.device() != device_ || !tensor.is_contiguous();
    std::vector<at::Tensor> buffers{moved ? tensor.to(device_).contiguous() : tensor};
    try {
      group_->allreduce(buffers)->wait();
    } catch (const std::exception& e) {
      raise("distributed: rank ", rank_, " of ", size_, ": ", what, " failed (", reason(e),
            "); another rank died or stopped answering within distributed.timeout_s (", seconds(timeout_),
            "). The run's last complete checkpoint stays; run the same command again to resume (docs/distributed.md)");
    }
    if (moved) tensor.copy_(buffers[0]);
  }

  // A one-element sum rather than the groups' own barrier (NCCL's must guess a device), read back on the CPU: NCCL's
  // wait() only orders the CUDA stream, the read makes this thread wait until every rank has arrived.
  void barrier(const std::string& what) override {
    auto one = torch::ones({1}, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    all_reduce_sum(one, what);
    if (const float arrived = one.item<float>(); arrived != static_cast<float>(size_))
      raise("distributed: rank ", rank_, ": ", what, " counted ", arrived, " ranks of ", size_);
  }

 private:
  c10::intrusive_ptr<Group> group_;
  int rank_, size_;
  std::string backend_;
  torch::Device device_;
  std::chrono::milliseconds timeout_;
};

c10::intrusive_ptr<c10d::Store> open_store(const LaunchEnv& env, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(env.master_port);
  o.isServer = !env.agent_store && env.rank == 0;
  o.numWorkers = static_cast<size_t>(env.world_size);
  o.waitWorkers = true;  // the host waits until every rank has connected
  o.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
  } catch (const std::exception& e) {
    raise("distributed: rank ", env.rank, " of ", env.world_size, ": ",
          o.isServer ? "hosting" : "connecting to", " the rendezvous store at ", env.master_addr, ":", env.master_port,
          " failed within distributed.timeout_s (", seconds(timeout), "): ", reason(e),
          o.isServer ? " (did every rank start? is the port free?)" : " (is rank 0 running? MASTER_ADDR/MASTER_PORT right?)");
  }
  // torchrun's agent store holds its own keys and those of earlier attempts: meet under this attempt's prefix.
  return c10::make_intrusive<c10d::PrefixStore>(env.store_prefix() + "/emotune", store);
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchEnv& env) {
  // GLOO_SOCKET_IFNAME as torch.distributed honours it; a loopback master means every rank is on this machine.
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

bool c10d_has_nccl() {
#ifdef EMOTUNE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> make_c10d_communicator(const LaunchEnv& env, const std::string& backend, const GroupOptions& o) {
  auto store = open_store(env, o.timeout);
  try {
    if (backend == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
      options->devices.push_back(gloo_device(env));
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, options);
      return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(group, env.rank, env.world_size, "gloo",
                                                                        torch::Device(torch::kCPU), o.timeout);
    }
#ifdef EMOTUNE_WITH_NCCL
    if (backend == "nccl") {
      // A hung collective is caught by NCCL's watchdog, which ends the process after the timeout.
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = o.timeout;
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, options);
      const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
      return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(group, env.rank, env.world_size, "nccl", device,
                                                                        o.timeout);
    }
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    raise("distributed: rank ", env.rank, " of ", env.world_size, ": creating the ", backend,
          " process group failed within distributed.timeout_s (", seconds(o.timeout), "): ", reason(e),
          " (did every rank start and reach the rendezvous? docs/distributed.md)");
  }
  raise("distributed: unknown backend '", backend, "'");
}

}  // namespace emotune
