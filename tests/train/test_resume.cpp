#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/checkpoint.h"
#include "masp/stages.h"
#include "test_support.h"
#include "train/optimizer.h"

namespace emotune {
namespace {

int64_t metric_lines(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  int64_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// An interrupted run, resumed, must end with exactly the checkpoint of an uninterrupted run.
void check_resume(bool stage_one, const std::string& optimizer) {
  auto manifest = testing::small_world(24);
  auto dir = testing::scratch_dir("runs");
  auto base = testing::small_config(manifest, "");
  base.train.optimizer = optimizer;
  base.train.max_steps = 5;
  base.train.grad_accum = 2;
  base.train.checkpoint_every = 2;
  if (!stage_one) {
    auto a = base;
    a.run_dir = dir + "/aspects";
    a.train.max_steps = 1;
    train_aspects(a);
    base.masp.aspects_checkpoint = dir + "/aspects/checkpoint.safetensors";
  }
  auto train = [&](const EmotuneConfig& c) { return stage_one ? train_aspects(c) : train_prompt(c); };

  auto whole = base;
  whole.run_dir = dir + "/whole";
  auto r = train(whole);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(metric_lines(whole.run_dir), 5);

  auto parts = base;
  parts.run_dir = dir + "/parts";
  parts.train.stop_after_steps = 3;  // "killed" after step 3 (a checkpoint is written there)
  auto first = train(parts);
  EXPECT_FALSE(first.finished);
  EXPECT_EQ(load_checkpoint(parts.run_dir + "/resume.safetensors").info.step, 3);
  parts.train.stop_after_steps = 0;
  auto second = train(parts);
  EXPECT_TRUE(second.finished);
  EXPECT_EQ(metric_lines(parts.run_dir), 5) << "metrics.jsonl holds each step once";

  testing::expect_same_tensors(whole.run_dir + "/checkpoint.safetensors", parts.run_dir + "/checkpoint.safetensors");
  testing::expect_same_tensors(whole.run_dir + "/resume.safetensors", parts.run_dir + "/resume.safetensors");

  auto again = base;
  again.run_dir = dir + "/again";
  train(again);
  testing::expect_same_tensors(whole.run_dir + "/checkpoint.safetensors", again.run_dir + "/checkpoint.safetensors");
}

TEST(Resume, StageOneAdamWResumesExactly) { check_resume(true, "adamw"); }
TEST(Resume, StageTwoSgdResumesExactly) { check_resume(false, "sgd"); }

TEST(Resume, RefusesAnotherStagesRunDirectory) {
  auto manifest = testing::small_world(24);
  auto c = testing::small_config(manifest, testing::scratch_dir("run"));
  c.train.max_steps = 1;
  train_aspects(c);
  c.masp.use_aspects = false;
  try {
    train_prompt(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot resume as stage 'prompt'"), std::string::npos) << e.what();
  }
}

TEST(Schedule, WarmupThenLinearDecayOrConstant) {
  TrainConfig c;
  c.lr = 1.0;
  c.warmup_ratio = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 0, 100), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 9, 100), 1.0);
  EXPECT_NEAR(learning_rate_at(c, 55, 100), 0.5, 1e-9);
  EXPECT_NEAR(learning_rate_at(c, 99, 100), 1.0 / 90, 1e-9);
  c.schedule = "constant";
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 99, 100), 1.0);
}

}  // namespace
}  // namespace emotune
