// Stage 1, stage 2 and evaluation on exported real-architecture bundles (random-init checkpoints of Hugging
// Face's classes): tests/fixtures/qwen2_vl_square (scripts/export/export_qwen2_vl.py) in both position modes, and
// tests/fixtures/llava_next_wide (export_llava_next.py: anyres, Mistral's [INST] format, a SentencePiece-BPE
// tokenizer.json): the same machinery the tiny bundle runs, now on the real architectures (GQA, M-RoPE or 1-D
// RoPE, byte-level or SentencePiece-style BPE). Label ranking's shared prefill must give whole sequences' scores with the 3-D positions
// continued across the cut (the stage-2 prefix cache: tests/masp/test_prefix_cache.cpp).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "eval/decode.h"
#include "masp/samples.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

class ExportedBundleStages : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  EmotuneConfig config(const std::string& run) {
    auto c = testing::small_config(testing::small_world(24), testing::scratch_dir(run));
    c.bundle = testing::fixture_bundle(std::get<0>(GetParam()));
    c.vlm.positions = parse_position_mode(std::get<1>(GetParam()));
    c.data.max_samples = 4;  // a tiny set the modules can fit in a few steps
    c.train.checkpoint_every = 1000;
    return c;
  }
};

TEST_P(ExportedBundleStages, StageOneAndStageTwoLossesFall) {
  auto c1 = config("stage1");
  c1.masp.aspects = {"brightness", "colorfulness"};
  c1.masp.questions = {{"brightness", {c1.masp.questions.at("brightness").front()}},
                       {"colorfulness", {c1.masp.questions.at("colorfulness").front()}}};
  // 8 image-aspect pairs, two steps an epoch: compare the first epoch with the last. A random-init model is
  // hard to steer through one aspect token (its logits are near-flat over 4,096 rows: the loss starts near
  // ln 4096 = 8.3), so the bar is a fall in nats, not a fraction.
  c1.train.max_steps = 24;
  c1.train.lr = 1e-2;
  train_aspects(c1);
  auto l1 = testing::logged_losses(c1.run_dir);
  ASSERT_EQ(l1.size(), 24u);
  for (double l : l1) ASSERT_TRUE(std::isfinite(l));
  EXPECT_LT(testing::mean_of(l1, 22, 24), testing::mean_of(l1, 0, 2) - 0.1) << "stage-1 loss did not fall";

  auto c2 = config("stage2");
  c2.masp.aspects = c1.masp.aspects;
  c2.masp.questions = c1.masp.questions;
  c2.masp.aspects_checkpoint = c1.run_dir + "/checkpoint.safetensors";
  c2.train.max_steps = 16;
  c2.train.lr = 0.3;
  train_prompt(c2);
  auto l2 = testing::logged_losses(c2.run_dir);
  ASSERT_EQ(l2.size(), 16u);
  for (double l : l2) ASSERT_TRUE(std::isfinite(l));
  EXPECT_LT(testing::mean_of(l2, 14, 16), testing::mean_of(l2, 0, 2) - 0.3) << "stage-2 loss did not fall";
}

TEST_P(ExportedBundleStages, LabelRankingWithASharedPrefillEqualsWholeSequences) {
  auto c = config("run");
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "train");
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::random_prompt());
  model.soft_prompt = model.soft_prompt * 3;
  std::vector<int64_t> ids{0, 1, 2};
  auto visual = images->visual(ids);
  std::vector<SequenceSpec> prompts;
  for (int64_t i = 0; i < 3; ++i) prompts.push_back(model.spec(visual[i], {}, nullptr));
  auto cached = score_candidates(*vlm, *model.builder, prompts, c.data.labels, 64, true);
  auto whole = score_candidates(*vlm, *model.builder, prompts, c.data.labels, 64, false);
  ASSERT_EQ(cached.sizes(), whole.sizes());
  EXPECT_LT(((cached - whole).abs().max() / whole.abs().max()).item<double>(), 1e-5);
}

// Greedy generation grows the positions by one per new token: it produces what a fresh forward over the prompt
// plus the tokens so far, laid out by the builder, picks at each step (among the tokenizer's pieces: the head
// has rows past them, 4,096 against 4,007 here, 151,936 against 151,657 for Qwen2-VL-2B).
TEST_P(ExportedBundleStages, GreedyGenerationContinuesThePositions) {
  auto c = config("run");
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "test");
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::prompt_only());
  std::vector<int64_t> ids{0};
  auto prompt = model.spec(images->visual(ids)[0], {}, nullptr);
  const int64_t steps = 5;
  auto text = generate_greedy(*vlm, *model.builder, {prompt}, steps).at(0);
  torch::NoGradGuard no_grad;
  SequenceSpec grown = prompt;
  std::vector<int64_t> expected;
  for (int64_t t = 0; t < steps; ++t) {
    auto batch = model.builder->assemble({grown});
    auto logits = vlm->forward(batch.embeds, batch.attention_mask, batch.model_positions())[0][-1];
    auto id = logits.slice(0, 0, vlm->tokenizer().size()).argmax().item<int64_t>();
    if (id == model.builder->end_of_turn_id() || id == vlm->spec().eos_id) break;
    expected.push_back(id);
    grown.push_back({Segment::Text, {id}, {}, false, {}});
  }
  ASSERT_FALSE(expected.empty()) << "the random model ended its answer at once: pick another image";
  EXPECT_EQ(text, vlm->tokenizer().decode(expected));
}

INSTANTIATE_TEST_SUITE_P(Bundles, ExportedBundleStages,
                         ::testing::Values(std::make_tuple(std::string("qwen2_vl_square"), std::string("plain")),
                                           std::make_tuple(std::string("qwen2_vl_square"), std::string("mrope")),
                                           std::make_tuple(std::string("llava_next_wide"), std::string("plain"))),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param); });

}  // namespace
}  // namespace emotune
