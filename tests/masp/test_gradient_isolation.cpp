#include <torch/torch.h>

#include "io/checkpoint.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "train/trainer.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

NamedTensors snapshot(const NamedTensors& t) {
  NamedTensors out;
  for (const auto& [n, v] : t) out[n] = v.detach().clone();
  return out;
}

// A fixed probe through the frozen VLM: any change to its weights would change these logits.
torch::Tensor probe(FrozenVLM& vlm) {
  torch::NoGradGuard ng;
  auto ids = torch::arange(1, 9, torch::kInt64).unsqueeze(0);
  auto image = torch::ones({1, 3, vlm.spec().image.height, vlm.spec().image.width}) * 0.3;
  auto embeds = torch::cat({vlm.encode_image(image), vlm.embed_tokens(ids)}, 1);
  return vlm.forward(embeds, torch::ones({1, embeds.size(1)}, torch::kInt64));
}

TEST(GradientIsolation, StageOneUpdatesOnlyTheSampledAspect) {
  auto manifest = testing::small_world(24);
  auto c = testing::small_config(manifest, testing::scratch_dir("run"));
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "train");
  AspectModules modules = load_aspect_modules(c, vlm->spec().hidden_size, "");
  SequenceBuilder builder(*vlm, layout_options(c));
  auto all = make_aspect_samples(*images, c.masp.aspects, false);
  // Keep only "scene" samples, so every step must leave the other aspects bit-identical.
  std::vector<AspectSample> scene;
  for (const auto& s : all)
    if (c.masp.aspects[static_cast<size_t>(s.aspect)] == "scene") scene.push_back(s);
  ASSERT_GE(scene.size(), 8u);
  AspectTask task(*vlm, builder, modules, *images, scene, aspect_question_lists(c.masp), 1);
  auto before = snapshot(modules->named_tensors());
  auto vlm_before = probe(*vlm);
  c.train.max_steps = 3;
  run_training(task, {c.train, c.run_dir, 1, vlm->spec().name, ""});
  for (const auto& [name, t] : modules->named_tensors()) {
    bool is_scene = name.rfind("aspect.scene.", 0) == 0;
    if (is_scene && name.find("bias") == std::string::npos) {
      EXPECT_FALSE(torch::equal(t, before.at(name))) << name << " should have been trained";
    }
    if (!is_scene) {
      EXPECT_TRUE(torch::equal(t, before.at(name))) << name << " changed without receiving a sample";
    }
  }
  EXPECT_TRUE(torch::equal(probe(*vlm), vlm_before)) << "the frozen VLM changed";
}

TEST(GradientIsolation, StageTwoUpdatesOnlyTheSoftPrompt) {
  auto manifest = testing::small_world(24);
  auto dir = testing::scratch_dir("run");
  auto c = testing::small_config(manifest, dir + "/aspects");
  c.train.max_steps = 1;
  train_aspects(c);
  c.run_dir = dir + "/prompt";
  c.masp.aspects_checkpoint = dir + "/aspects/checkpoint.safetensors";
  c.train.max_steps = 3;
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "train");
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::masp());
  PromptTask task(model, *images, make_emotion_samples(*images, c.data.labels));
  auto soft_before = model.soft_prompt.clone();
  auto aspects_before = snapshot(model.aspects->named_tensors());
  auto vlm_before = probe(*vlm);
  run_training(task, {c.train, c.run_dir, 1, vlm->spec().name, ""});
  EXPECT_FALSE(torch::equal(model.soft_prompt, soft_before)) << "the soft prompt did not train";
  EXPECT_EQ(task.trainable().size(), 1u);
  for (const auto& [name, t] : model.aspects->named_tensors()) EXPECT_TRUE(torch::equal(t, aspects_before.at(name))) << name;
  EXPECT_TRUE(torch::equal(probe(*vlm), vlm_before)) << "the frozen VLM changed";
  auto saved = load_checkpoint(c.run_dir + "/checkpoint.safetensors").tensors;
  EXPECT_TRUE(torch::equal(saved.at("soft_prompt"), model.soft_prompt));
  for (const auto& [name, t] : aspects_before) EXPECT_TRUE(torch::equal(saved.at(name), t)) << name;
}

}  // namespace
}  // namespace emotune
