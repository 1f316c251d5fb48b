// Stage 2 at a real VLM's size: emotune's C++ trainer path (bf16 frozen model, fp32 soft prompt, batched,
// the prefix-cache fast path) against the eager PyTorch loop the reference code runs
// (bench/stage2_eager_reference.py), on the same sequences in the same order (issue "GPU, ready in one call").
//
//   emotune_stage2_bench -c configs/gpu_verify.yaml --set bundle=B --set device=cuda --set precision=bf16
//       --dump samples.safetensors --losses losses.json --measure measure.json [--samples 50 --batch 8 --steps 20]   (one command line)
//
// --dump: the first N samples of the split (V+S sequences, one per image, in manifest order) as the eager
//   reference reads them: token ids, segments, loss mask, positions, normalised pixels, the initial prompt,
//   and AdamW's settings (constant lr, weight decay 0: AdamW would decay the reference's whole vocabulary).
// --losses: N AdamW steps at batch 1 over those samples in order; the loss of each step (compared with the
//   reference's, scripts/gpu/compare_stage2.py).
// --measure: `--steps` steps at `--batch` after 2 warm-up steps: samples/s and peak device memory. The MFU is
//   scripts/gpu/compare_stage2.py's, from the reference's model FLOPs per sample (the same sequences).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/image.h"
#include "io/safetensors.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "vlm/frozen_vlm.h"

#ifdef EMOTUNE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace emotune {
namespace {

struct Args {
  std::vector<std::string> configs, overrides;
  std::string dump, losses, measure;
  int64_t samples = 50, loss_steps = 50, batch = 8, steps = 20;
  double lr = 1e-3;
};

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

void reset_peak(const torch::Device& device) {
#ifdef EMOTUNE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
}

// Peak bytes allocated on the device since reset_peak; on cpu the process's peak RSS.
double peak_memory_bytes(const torch::Device& device) {
#ifdef EMOTUNE_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    // [0]: StatType::AGGREGATE in every version (the enum moved namespace across 2.x; the index did not).
    return static_cast<double>(stats.allocated_bytes[0].peak);
  }
#endif
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

struct Stage2 {
  EmotuneConfig config;
  std::unique_ptr<FrozenVLM> vlm;
  std::unique_ptr<ImageFeatures> images;
  EmotionModel model;
  std::unique_ptr<PromptTask> task;
};

// V+S (no aspect modules: the comparison is the frozen model's cost), the train split, features cached.
std::unique_ptr<Stage2> open_stage2(const Args& a) {
  auto s = std::make_unique<Stage2>();
  s->config = load_config(a.configs, a.overrides);
  s->config.masp.use_aspects = false;
  s->config.masp.aspects_checkpoint.clear();
  s->vlm = open_bundle(s->config);
  s->images = open_split(*s->vlm, s->config, s->config.data.train_split);
  s->model = make_emotion_model(*s->vlm, s->config, "", EmotionModelParts::prompt_only());
  s->model.soft_prompt.set_requires_grad(true);
  s->task = std::make_unique<PromptTask>(s->model, *s->images, make_emotion_samples(*s->images, s->config.data.labels));
  return s;
}

// The samples dumped and stepped through: the first --samples of the split, or all of a smaller one.
int64_t distinct_samples(Stage2& s, const Args& a) { return std::min(a.samples, s.task->num_samples()); }

void dump_samples(Stage2& s, const Args& a) {
  const int64_t n = distinct_samples(s, a);
  NamedTensors t;
  t["soft_prompt"] = s.model.soft_prompt.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  auto spec = s.vlm->spec().image;
  spec.decoding = image_decoding(s.config.data);
  std::string positions = "plain";
  for (int64_t i = 0; i < n; ++i) {
    auto b = s.task->batch({i});
    const auto key = "sample." + std::to_string(i) + ".";
    t[key + "token_ids"] = b.token_ids[0].to(torch::kCPU).contiguous();
    t[key + "segments"] = b.segments[0].to(torch::kCPU).contiguous();
    t[key + "loss_mask"] = b.loss_mask[0].to(torch::kCPU, torch::kUInt8).contiguous();
    auto pos = b.position_ids.to(torch::kCPU);
    if (pos.dim() == 3) positions = "mrope";
    t[key + "position_ids"] = (pos.dim() == 3 ? pos.select(1, 0) : pos[0]).contiguous();
    // The sample's image: samples are made one per image in split order (make_emotion_samples).
    t[key + "pixels"] = load_image(s.images->rows().at(static_cast<size_t>(i)).image, spec).contiguous();
  }
  const auto& tr = s.config.train;
  // %.17g: every double exactly (std::to_string's six decimals made eps 1e-8 "0.000000", and the reference's
  // AdamW then divided 0 by 0 on every masked row).
  auto exact = [](double x) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.17g", x);
    return std::string(text);
  };
  save_safetensors(a.dump, t, {{"samples", std::to_string(n)}, {"positions", positions}, {"lr", exact(a.lr)},
                               {"beta1", exact(tr.beta1)}, {"beta2", exact(tr.beta2)},
                               {"eps", exact(tr.eps)}, {"weight_decay", "0"},
                               {"image_height", std::to_string(spec.height)}, {"image_width", std::to_string(spec.width)}});
  std::printf("dumped %lld samples to %s\n", static_cast<long long>(n), a.dump.c_str());
}

torch::optim::AdamW adamw(Stage2& s, double lr) {
  const auto& tr = s.config.train;
  return torch::optim::AdamW({s.model.soft_prompt},
                             torch::optim::AdamWOptions(lr).betas({tr.beta1, tr.beta2}).eps(tr.eps).weight_decay(0.0));
}

void step_losses(Stage2& s, const Args& a) {
  auto optimizer = adamw(s, a.lr);
  nlohmann::json losses = nlohmann::json::array();
  const int64_t n = distinct_samples(s, a);
  for (int64_t step = 0; step < a.loss_steps; ++step) {  // sample step mod n: the reference wraps the same way
    optimizer.zero_grad();
    auto loss = s.task->loss({step % n}, 0);
    loss.backward();
    optimizer.step();
    losses.push_back(loss.item<double>());
  }
  write_file_atomic(a.losses, nlohmann::json{{"losses", losses}, {"batch", 1}}.dump(1) + "\n");
  std::printf("%lld steps at batch 1: loss %.4f -> %.4f\n", static_cast<long long>(a.loss_steps), losses.front().get<double>(),
              losses.back().get<double>());
}

void measure(Stage2& s, const Args& a) {
  auto optimizer = adamw(s, a.lr);
  const auto device = s.vlm->device();
  const int64_t n = s.task->num_samples();
  auto batch_at = [&](int64_t step) {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < a.batch; ++i) out.push_back((step * a.batch + i) % n);
    return out;
  };
  auto run = [&](int64_t step) {
    optimizer.zero_grad();
    s.task->loss(batch_at(step), 0).backward();
    optimizer.step();
  };
  for (int64_t step = 0; step < 2; ++step) run(step);  // warm-up: allocator, kernels' first launches
  synchronize(device);
  reset_peak(device);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < a.steps; ++step) run(step + 2);
  synchronize(device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double samples_per_s = static_cast<double>(a.steps * a.batch) / seconds;
  const auto sequence = s.task->batch({0}).token_ids.size(1);
  nlohmann::json out = {{"implementation", "emotune C++ (PromptTask, prefix cache)"}, {"device", device.str()},
                        {"precision", s.config.precision}, {"batch", a.batch}, {"steps", a.steps},
                        {"samples_per_s", samples_per_s}, {"peak_memory_bytes", peak_memory_bytes(device)},
                        {"sequence_tokens", sequence}};
  write_file_atomic(a.measure, out.dump(1) + "\n");
  std::printf("batch %lld: %.2f samples/s, peak memory %.2f GiB\n", static_cast<long long>(a.batch), samples_per_s,
              peak_memory_bytes(device) / (1 << 30));
}

}  // namespace
}  // namespace emotune

int main(int argc, char** argv) {
  CLI::App app{"stage 2 of emotune's trainer at a bundle's real size, against the eager reference's sequences"};
  emotune::Args a;
  app.add_option("-c,--config", a.configs, "config file(s)")->required();
  app.add_option("--set", a.overrides, "key=value overrides");
  app.add_option("--dump", a.dump, "write the first --samples samples for bench/stage2_eager_reference.py");
  app.add_option("--losses", a.losses, "AdamW at batch 1 over those samples in order: losses to this JSON");
  app.add_option("--measure", a.measure, "samples/s and peak memory at --batch to this JSON");
  app.add_option("--samples", a.samples, "samples dumped (the first of the split; fewer if it is smaller)")->capture_default_str();
  app.add_option("--loss-steps", a.loss_steps, "AdamW steps at batch 1 over the dumped samples, wrapping")->capture_default_str();
  app.add_option("--batch", a.batch, "batch of the measurement")->capture_default_str();
  app.add_option("--steps", a.steps, "timed steps of the measurement")->capture_default_str();
  app.add_option("--lr", a.lr, "AdamW's constant learning rate (both loops)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    auto s = emotune::open_stage2(a);
    if (!a.dump.empty()) emotune::dump_samples(*s, a);
    if (!a.losses.empty()) emotune::step_losses(*s, a);
    if (!a.measure.empty()) emotune::measure(*s, a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "emotune_stage2_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
