// The stage-2 fast path (issue 6): prefilling the chat prefix, aspect and visual tokens without gradient and
// differentiating only the soft prompt onward gives the plain path's loss and soft-prompt gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "masp/samples.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

// `batch`: labels of different token lengths, so the right-padded rest really is ragged.
void expect_fast_path_equals_plain_path(EmotuneConfig c, const std::vector<int64_t>& batch) {
  auto vlm = open_bundle(c);
  ASSERT_TRUE(vlm->has_prefix_cache()) << c.bundle << " exports prefill and hidden_states_cached";
  auto images = open_split(*vlm, c, "train");
  auto samples = make_emotion_samples(*images, c.data.labels);
  // Aspect modules (random, frozen) so the prefix holds aspect tokens as well as visual tokens.
  c.masp.use_aspects = true;
  c.masp.aspects_checkpoint = testing::random_aspects_checkpoint(c, vlm->spec().hidden_size);
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::aspects_random_prompt());
  model.soft_prompt = (model.soft_prompt * 3).detach().requires_grad_(true);  // a prompt with some effect
  PromptTaskOptions without_cache;
  without_cache.use_prefix_cache = false;
  PromptTask plain(model, *images, samples, without_cache), fast(model, *images, samples, PromptTaskOptions());
  auto run = [&](PromptTask& task) {
    model.soft_prompt.mutable_grad() = torch::Tensor();
    auto loss = task.loss(batch, 0);
    loss.backward();
    return std::make_pair(loss.item<double>(), model.soft_prompt.grad().clone());
  };
  auto [plain_loss, plain_grad] = run(plain);
  auto [fast_loss, fast_grad] = run(fast);
  EXPECT_NEAR(fast_loss, plain_loss, 1e-5 * std::abs(plain_loss));
  EXPECT_LT(((fast_grad - plain_grad).abs().max() / plain_grad.abs().max()).item<double>(), 1e-5);
  EXPECT_GT(plain_grad.abs().max().item<double>(), 0.0);
}

TEST(PrefixCache, LossAndSoftPromptGradientEqualThePlainPath) {
  auto c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  expect_fast_path_equals_plain_path(c, {0, 1, 2, 3, 4, 5, 6});
}

// The same on an exported Qwen2-VL (GQA, its own prefill layout) in both position modes and both prompt
// placements: with M-RoPE the 3-D positions must continue across the cut (SequenceBatch::next_position).
TEST(PrefixCache, QwenTwoVLBundleInBothPositionModesAndPlacements) {
  for (const char* positions : {"plain", "mrope"})
    for (const char* placement : {"paper", "reference"}) {
      SCOPED_TRACE(std::string(positions) + " " + placement);
      auto c = testing::small_config(testing::small_world(24), testing::scratch_dir(std::string(positions) + placement));
      c.bundle = testing::fixture_bundle("qwen2_vl_square");
      c.vlm.positions = parse_position_mode(positions);
      c.masp.prompt_placement = *enum_from_name<PromptPlacement>(placement);
      expect_fast_path_equals_plain_path(c, {0, 1, 2, 3});
    }
}

// And on an exported LLaVA-NeXT (Mistral's GQA decoder, anyres visual tokens, the [INST] layout without a
// system turn), in both prompt placements.
TEST(PrefixCache, LlavaNextBundleInBothPlacements) {
  for (const char* placement : {"paper", "reference"}) {
    SCOPED_TRACE(placement);
    auto c = testing::small_config(testing::small_world(24), testing::scratch_dir(std::string("llava") + placement));
    c.bundle = testing::fixture_bundle("llava_next_wide");
    c.masp.prompt_placement = *enum_from_name<PromptPlacement>(placement);
    expect_fast_path_equals_plain_path(c, {0, 1, 2, 3});
  }
}

// A split holds the whole sequence's tokens, right- instead of left-padded after the prefix, and exactly its
// positions (1-D, or M-RoPE's three axes), continued across the cut.
void expect_split_keeps_tokens_and_positions(const EmotuneConfig& c) {
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "train");
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::random_prompt());
  std::vector<int64_t> ids{0, 1};
  auto visual = images->visual(ids);
  std::string a = "awe", b = "contentment";
  std::vector<SequenceSpec> specs{model.spec(visual[0], {}, &a), model.spec(visual[1], {}, &b)};
  auto split = model.builder->assemble_split(specs);
  ASSERT_TRUE(split.has_value());
  auto whole = model.builder->assemble(specs);
  const auto p = split->prefix.embeds.size(1), s = whole.embeds.size(1);
  const int64_t batch_dim = whole.position_ids.dim() == 3 ? 1 : 0;
  for (int64_t row = 0; row < 2; ++row) {
    const auto real = whole.attention_mask[row].sum().item<int64_t>();
    const auto rest = split->rest.attention_mask[row].sum().item<int64_t>();
    EXPECT_EQ(p + rest, real);
    EXPECT_TRUE(torch::equal(split->rest.token_ids[row].slice(0, 0, rest), whole.token_ids[row].slice(0, s - rest)));
    auto whole_row = whole.position_ids.select(batch_dim, row);
    EXPECT_TRUE(torch::equal(split->prefix.position_ids.select(batch_dim, row), whole_row.slice(-1, s - real, s - rest)));
    EXPECT_TRUE(torch::equal(split->rest.position_ids.select(batch_dim, row).slice(-1, 0, rest), whole_row.slice(-1, s - rest, s)));
  }
  std::vector<SequenceSpec> no_prompt{model.builder->image_question({}, visual[0], {}, model.question, &a)};
  EXPECT_FALSE(model.builder->assemble_split(no_prompt).has_value());
}

TEST(PrefixCache, SplitKeepsTokensAndPositionsAndRejectsUnequalPrefixes) {
  expect_split_keeps_tokens_and_positions(testing::small_config(testing::small_world(24), testing::scratch_dir("run")));
  for (const char* placement : {"paper", "reference"}) {
    SCOPED_TRACE(placement);
    auto c = testing::small_config(testing::small_world(24), testing::scratch_dir(placement));
    c.bundle = testing::fixture_bundle("qwen2_vl_square");
    c.vlm.positions = PositionMode::Mrope;
    c.masp.prompt_placement = *enum_from_name<PromptPlacement>(placement);
    expect_split_keeps_tokens_and_positions(c);
  }
}

}  // namespace
}  // namespace emotune
