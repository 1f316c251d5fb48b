// precision: bf16 — the frozen VLM and frozen aspect modules in bf16, what trains in fp32 (issue 5). On the
// CPU the same code paths run as on a GPU; the loss and the soft prompt's gradient stay close to fp32's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "masp/samples.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

struct StageTwoStep {
  double loss;
  torch::Tensor grad;
};

StageTwoStep stage_two_step(EmotuneConfig c, const std::string& aspects_ckpt) {
  c.masp.aspects_checkpoint = aspects_ckpt;
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "train");
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::aspects_random_prompt());
  EXPECT_EQ(model.soft_prompt.scalar_type(), torch::kFloat32) << "the trained prompt stays fp32";
  model.soft_prompt = (model.soft_prompt * 3).detach().requires_grad_(true);
  PromptTask task(model, *images, make_emotion_samples(*images, c.data.labels));
  auto loss = task.loss({0, 1, 2, 3, 4, 5}, 0);
  loss.backward();
  return {loss.item<double>(), model.soft_prompt.grad()};
}

TEST(MixedPrecision, Bf16VlmKeepsTheLossAndAnFp32GradientOfTheSoftPrompt) {
  auto c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  auto vlm = open_bundle(c);
  auto ckpt = testing::random_aspects_checkpoint(c, vlm->spec().hidden_size);
  auto fp32 = stage_two_step(c, ckpt);
  c.precision = "bf16";
  auto bf16 = stage_two_step(c, ckpt);
  EXPECT_EQ(bf16.grad.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::isfinite(bf16.grad).all().item<bool>());
  EXPECT_NEAR(bf16.loss, fp32.loss, 0.03 * std::abs(fp32.loss));
  auto cosine = (bf16.grad * fp32.grad).sum() / (bf16.grad.norm() * fp32.grad.norm());
  EXPECT_GT(cosine.item<double>(), 0.95);
}

TEST(MixedPrecision, StageOneTrainsFp32ModulesOnABf16Vlm) {
  auto c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  c.precision = "bf16";
  c.train.max_steps = 2;
  auto result = train_aspects(c);
  EXPECT_EQ(result.step, 2);
  auto ckpt = load_checkpoint(result.checkpoint);
  for (const auto& [name, t] : ckpt.tensors) EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
}

TEST(MixedPrecision, ACudaDeviceWithoutAGpuIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is present";
  auto c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  c.device = "cuda";
  try {
    open_bundle(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("config key 'device'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace emotune
