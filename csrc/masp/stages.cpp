#include "masp/stages.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/rng.h"
#include "dist/communicator.h"
#include "io/checkpoint.h"
#include "masp/soft_prompt.h"
#include "masp/tasks.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

std::unique_ptr<FrozenVLM> open_bundle(const EmotuneConfig& config) {
  init_torch_runtime(static_cast<uint64_t>(config.seed), static_cast<int>(config.threads));
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(config.device);
  } catch (const c10::Error&) {
    raise("config key 'device': '", config.device, "' is not a device (expected cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    raise("config key 'device' is '", config.device, "', but this LibTorch sees no CUDA device (a CPU-only build, or no GPU)");
  // Several ranks on one machine: "cuda" is each rank's own GPU, cuda:LOCAL_RANK (as torchrun users expect).
  if (device.is_cuda() && launch_env().local_world_size > 1) {
    if (device.has_index())
      raise("config key 'device' is '", config.device, "' on every one of the ", launch_env().local_world_size,
            " ranks on this machine; use device: cuda, which is each rank's own GPU, cuda:LOCAL_RANK (docs/distributed.md)");
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch_env().local_rank));
  }
  return load_frozen_vlm(config.bundle, {device, config.precision == "bf16" ? torch::kBFloat16 : torch::kFloat32});
}

LayoutOptions layout_options(const EmotuneConfig& c) {
  const auto& m = c.masp;
  return {m.system_prompt, m.prompt_placement, m.loss_on_end_of_turn, c.vlm.positions};
}

std::vector<std::vector<std::string>> aspect_question_lists(const MaspConfig& m) {
  std::vector<std::vector<std::string>> out;
  for (const auto& a : m.aspects) out.push_back(m.questions.at(a));
  return out;
}

EmotionModelParts parts_in_checkpoint(const std::string& checkpoint) {
  if (checkpoint.empty()) return EmotionModelParts::frozen_vlm();
  auto summary = summarize_checkpoint(checkpoint);
  return {summary.has_prefix("aspect."), summary.has("soft_prompt"), false};
}

Manifest load_data_manifest(const EmotuneConfig& c) {
  // The built-in defaults name no dataset: a command run without -c lands here first (issue 28).
  if (c.data.manifest.empty())
    raise("no dataset to read: data.manifest is not set. Give a config with -c/--config (e.g. -c configs/quickstart.yaml, "
          "the affect world scripts/quickstart.sh synthesises) or --set data.manifest=FILE (docs/data.md)");
  auto manifest = load_manifest(c.data.manifest, c.data.duplicate_rows == "drop");
  if (manifest.dropped_duplicates > 0)
    std::fprintf(stderr, "%s: dropped %lld duplicate row(s) (data.duplicate_rows: drop)\n", c.data.manifest.c_str(),
                 static_cast<long long>(manifest.dropped_duplicates));
  return manifest;
}

std::unique_ptr<ImageFeatures> open_split(FrozenVLM& vlm, const EmotuneConfig& c, const std::string& split, const char* key) {
  auto manifest = load_data_manifest(c);
  auto rows = manifest.split(split, c.data.max_samples);
  if (rows.empty())
    raise(c.data.manifest, ": no rows in split '", split, "'", key ? std::string(" (chosen by ") + key + ")" : std::string());
  return std::make_unique<ImageFeatures>(vlm, manifest, rows, c.data.skip_bad_images, c.data.cache_features,
                                         "encoding " + split, image_decoding(c.data));
}

AspectModules load_aspect_modules(const EmotuneConfig& c, int64_t dim, const std::string& checkpoint) {
  AspectModules modules(AspectModulesOptions{c.masp.aspects, dim, c.masp.queries_per_aspect, static_cast<uint64_t>(c.seed)});
  if (checkpoint.empty()) return modules;
  auto loaded = load_checkpoint(checkpoint);
  if (!has_tensors_with_prefix(loaded.tensors, "aspect.")) {
    std::string names;
    for (const auto& [name, tensor] : loaded.tensors) names += (names.empty() ? "" : ", ") + name;
    raise(checkpoint, ": a ", loaded.info.stage == "prompt" ? "stage-2 (soft prompt) checkpoint" : "checkpoint",
          " without aspect modules (it holds ", names.empty() ? "no tensors" : names,
          "); masp.aspects_checkpoint expects a stage-1 checkpoint from `emotune train-aspects` (tensors aspect.<name>.*), "
          "or a stage-2 one trained with aspects");
  }
  modules->load(loaded.tensors, checkpoint);
  return modules;
}

EmotionModel make_emotion_model(FrozenVLM& vlm, const EmotuneConfig& c, const std::string& checkpoint,
                                const EmotionModelParts& parts) {
  EmotionModel m;
  m.vlm = &vlm;
  m.builder = std::make_unique<SequenceBuilder>(vlm, layout_options(c));
  m.labels = c.data.labels;
  m.question = render_emotion_question(c.masp.emotion_question, c.data.labels, c.masp.label_list_style);
  NamedTensors tensors;
  if (!checkpoint.empty()) tensors = load_checkpoint(checkpoint).tensors;
  const int64_t d = vlm.spec().hidden_size;
  if (parts.aspects) {
    if (has_tensors_with_prefix(tensors, "aspect.")) {
      m.aspects = load_aspect_modules(c, d, "");
      m.aspects->load(tensors, checkpoint);
    } else if (!c.masp.aspects_checkpoint.empty()) {
      m.aspects = load_aspect_modules(c, d, c.masp.aspects_checkpoint);
    } else {
      raise("aspect tokens requested but no checkpoint holds aspect modules (set masp.aspects_checkpoint or masp.use_aspects: false)");
    }
    m.aspects->set_requires_grad(false);
    m.aspects->to(vlm.device(), vlm.dtype());  // frozen in stage 2: the VLM's precision
  }
  if (parts.soft_prompt) {
    // Trained (and checkpointed) in fp32 on the VLM's device, whatever the VLM's precision.
    auto it = tensors.find("soft_prompt");
    if (parts.random_soft_prompt || it == tensors.end()) {
      if (!parts.random_soft_prompt && !checkpoint.empty())
        raise(checkpoint, ": has no tensor 'soft_prompt' (is it a stage-1 checkpoint?)");
      m.soft_prompt = make_soft_prompt({c.masp.soft_prompt_length, c.masp.soft_prompt_init, c.masp.soft_prompt_init_text,
                                        static_cast<uint64_t>(c.seed)}, vlm);
    } else {
      if (it->second.dim() != 2 || it->second.size(1) != d)
        raise(checkpoint, ": soft_prompt has shape ", it->second.sizes(), ", expected [L, ", d, "]");
      m.soft_prompt = it->second.to(torch::kFloat32).clone();
    }
    m.soft_prompt = m.soft_prompt.to(vlm.device());
  }
  return m;
}

namespace {
TrainerOptions trainer_options(const EmotuneConfig& c, const FrozenVLM& vlm, TrainTask* validation) {
  return {c.train, c.run_dir, static_cast<uint64_t>(c.seed), vlm.spec().name, config_to_yaml(c), validation};
}

// train.validation_split's images, or nullptr when none is set.
std::unique_ptr<ImageFeatures> open_validation_split(FrozenVLM& vlm, const EmotuneConfig& c) {
  if (c.train.validation_split.empty()) return nullptr;
  return open_split(vlm, c, c.train.validation_split, "train.validation_split");
}
}  // namespace

TrainResult train_aspects(const EmotuneConfig& c) {
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, c.data.train_split, "data.train_split");
  auto samples = make_aspect_samples(*images, c.masp.aspects, c.masp.skip_zero_values);
  if (samples.empty()) raise(c.data.manifest, ": no aspect annotations for ", c.masp.aspects.size(), " configured aspects in split '", c.data.train_split, "'");
  AspectModules modules = load_aspect_modules(c, vlm->spec().hidden_size, "");
  modules->to(vlm->device(), torch::kFloat32);  // trained: fp32 parameters and optimizer state
  SequenceBuilder builder(*vlm, layout_options(c));
  AspectTask task(*vlm, builder, modules, *images, samples, aspect_question_lists(c.masp), static_cast<uint64_t>(c.seed),
                  c.train.loss_reduction);
  std::fprintf(stderr, "stage 1: %zu image-aspect pairs from %lld images\n", samples.size(), static_cast<long long>(images->size()));
  // Validation: the same modules (a shared holder) on the held-out images, first question template.
  auto val_images = open_validation_split(*vlm, c);
  std::unique_ptr<AspectTask> val;
  if (val_images)
    val = std::make_unique<AspectTask>(*vlm, builder, modules, *val_images, make_aspect_samples(*val_images, c.masp.aspects, c.masp.skip_zero_values),
                                       aspect_question_lists(c.masp), static_cast<uint64_t>(c.seed), c.train.loss_reduction);
  return run_training(task, trainer_options(c, *vlm, val.get()));
}

TrainResult train_prompt(const EmotuneConfig& c) {
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, c.data.train_split, "data.train_split");
  auto samples = make_emotion_samples(*images, c.data.labels);
  auto model = make_emotion_model(*vlm, c, "", c.masp.use_aspects ? EmotionModelParts::masp() : EmotionModelParts::prompt_only());
  PromptTask task(model, *images, samples, {true, {}, {}, c.train.loss_reduction});
  std::fprintf(stderr, "stage 2: %zu images, soft prompt %lld x %lld, aspects %s\n", samples.size(),
               static_cast<long long>(model.soft_prompt.size(0)), static_cast<long long>(model.soft_prompt.size(1)),
               model.aspects ? "on" : "off");
  // Validation: the same model, so the same soft-prompt tensor, on the held-out images.
  auto val_images = open_validation_split(*vlm, c);
  std::unique_ptr<PromptTask> val;
  if (val_images)
    val = std::make_unique<PromptTask>(model, *val_images, make_emotion_samples(*val_images, c.data.labels),
                                       PromptTaskOptions{true, {}, {}, c.train.loss_reduction});
  return run_training(task, trainer_options(c, *vlm, val.get()));
}

}  // namespace emotune
