#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "data/image.h"
#include "io/checkpoint.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
struct InfoArgs {
  std::string bundle, checkpoint;
  bool keys = false;
  ConfigArgs config;
  bool print_config = false;
  bool runtime = false;
};

void run_info(const InfoArgs& a) {
  if (a.runtime) {
    // What a training run of this config gets (init_torch_runtime applies `threads`), and why.
    const auto c = a.config.load();
    if (c.threads > 0) torch::set_num_threads(static_cast<int>(c.threads));
    const char* omp_threads = std::getenv("OMP_NUM_THREADS");
    const std::string why = c.threads > 0 ? concat("the config's threads: ", c.threads)
                            : omp_threads ? concat("threads: 0 keeps LibTorch's default, here OMP_NUM_THREADS=", omp_threads)
                                          : concat("threads: 0 keeps LibTorch's default, OpenMP's choice; ",
                                                   std::thread::hardware_concurrency(), " hardware threads here");
    const char* policy = std::getenv("OMP_WAIT_POLICY");  // csrc/core/openmp_policy.h
    std::printf("LibTorch %s: %d intra-op threads (%s); OMP_WAIT_POLICY %s\n", TORCH_VERSION, torch::get_num_threads(), why.c_str(),
                policy ? policy : "(unset: libgomp's default)");
    std::printf("CUDA: %s; images: %s%s\n", torch::cuda::is_available() ? concat(torch::cuda::device_count(), " device(s)").c_str() : "none seen",
                image_decoding_available() ? "decoded with OpenCV" : "from a pixel cache only (built without OpenCV)",
                c.data.pixel_cache.empty() ? "" : concat(", data.pixel_cache ", c.data.pixel_cache).c_str());
    std::printf("distributed: %s; backend %s, timeout %g s\n", distributed_summary().c_str(), c.distributed.backend.c_str(),
                c.distributed.timeout_s);
  }
  if (a.print_config) std::printf("%s\n", config_to_yaml(a.config.load()).c_str());
  if (a.keys) {
    EmotuneConfig c;
    c.masp.questions = default_aspect_questions();
    std::printf("config keys (YAML nesting or --set key=value):\n%s", bind_config(c).describe().c_str());
  }
  if (!a.bundle.empty()) {
    // In the config's precision (default fp32): a bf16 7B bundle needs --set precision=bf16 on a machine with
    // less memory than its fp32 weights (issue 27: LLaVA-v1.6-Mistral-7B, 30 GB in fp32, on 24 GiB).
    const auto c = a.config.load();
    auto vlm = load_frozen_vlm(a.bundle, {torch::kCPU, c.precision == "bf16" ? torch::kBFloat16 : torch::kFloat32});
    const auto& s = vlm->spec();
    std::printf("bundle %s (%s): valid\n  hidden size %lld, vocabulary %lld (tokenizer %lld pieces, %s)\n"
                "  image %lldx%lld -> %lld visual tokens; loaded in %s (precision)\n",
                s.name.c_str(), a.bundle.c_str(), static_cast<long long>(s.hidden_size), static_cast<long long>(s.vocab_size),
                static_cast<long long>(vlm->tokenizer().size()), s.tokenizer_kind.c_str(), static_cast<long long>(s.image.height),
                static_cast<long long>(s.image.width), static_cast<long long>(s.visual_tokens), c.precision.c_str());
  }
  if (!a.checkpoint.empty()) {
    auto c = load_checkpoint(a.checkpoint);
    std::printf("checkpoint %s: stage %s, bundle %s, step %lld\n", a.checkpoint.c_str(), c.info.stage.c_str(),
                c.info.bundle.c_str(), static_cast<long long>(c.info.step));
    for (const auto& [name, t] : c.tensors) {
      std::string shape;
      for (auto d : t.sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
      std::printf("  %-40s %s %s\n", name.c_str(), c10::toString(t.scalar_type()), shape.c_str());
    }
  }
  if (!a.keys && !a.print_config && !a.runtime && a.bundle.empty() && a.checkpoint.empty()) std::printf("nothing to show: give --bundle, --checkpoint, --config-keys or --runtime\n");
}
}  // namespace

void register_info_command(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "validate and describe a bundle or a checkpoint; list config keys");
  cmd->add_option("--bundle", a->bundle, "bundle directory to validate and describe");
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint to describe");
  cmd->add_flag("--config-keys", a->keys, "list every config key with its type, default and meaning");
  cmd->add_flag("--runtime", a->runtime, "print LibTorch's version, thread count and the OpenMP wait policy in effect");
  cmd->add_flag("--print-config", a->print_config, "print the resolved config (defaults, --config files, --set) as YAML");
  add_config_options(cmd, a->config);
  cmd->callback([a] { run_info(*a); });
}

}  // namespace emotune
