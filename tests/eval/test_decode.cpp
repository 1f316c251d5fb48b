#include "eval/decode.h"

#include <torch/torch.h>

#include "masp/stages.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

TEST(AspectAnswerMatches, ListsMatchInAnyOrderAndNothingElseDoes) {
  EXPECT_TRUE(aspect_answer_matches(" Beach \nmore text", "beach"));
  EXPECT_TRUE(aspect_answer_matches("gift, balloon", "balloon, gift"));
  EXPECT_TRUE(aspect_answer_matches("balloon ,gift", "balloon, gift"));
  EXPECT_FALSE(aspect_answer_matches("balloon", "balloon, gift"));            // one item missing
  EXPECT_FALSE(aspect_answer_matches("balloon, gift, knife", "balloon, gift"));  // one too many
  EXPECT_FALSE(aspect_answer_matches("balloon, balloon", "balloon"));         // items count
  EXPECT_FALSE(aspect_answer_matches("night", "night street"));
  EXPECT_FALSE(aspect_answer_matches("", "beach"));
}

// Label ranking prefills each prompt once for all candidates (score_candidates_cached); it must rank exactly as
// scoring every (prompt, candidate) sequence whole does, also for labels of several tokens and a batch whose
// last chunk is short, and prompts of unequal length must fall back to the whole sequences.
TEST(ScoreCandidates, PrefixCacheGivesTheWholeSequencesScores) {
  auto c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  auto vlm = open_bundle(c);
  ASSERT_TRUE(vlm->has_prefix_cache());
  auto images = open_split(*vlm, c, "train");
  c.masp.use_aspects = true;
  c.masp.aspects_checkpoint = testing::random_aspects_checkpoint(c, vlm->spec().hidden_size);
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::aspects_random_prompt());
  model.soft_prompt = (model.soft_prompt * 3).detach();  // a prompt with some effect
  std::vector<int64_t> ids{0, 1, 2};
  auto visual = images->visual(ids);
  auto aspects = model.aspect_tokens(visual);
  std::vector<SequenceSpec> prompts;
  for (int64_t i = 0; i < 3; ++i) prompts.push_back(model.spec(visual[i], aspects[i], nullptr));
  const std::vector<std::string> labels{"awe", "contentment", "amusement park", "sadness"};
  for (int64_t batch_size : {4, 8, 64}) {  // one, two (then one) and all three prompts per prefill
    auto whole = score_candidates(*vlm, *model.builder, prompts, labels, batch_size, /*use_prefix_cache=*/false);
    auto cached = score_candidates(*vlm, *model.builder, prompts, labels, batch_size);
    ASSERT_EQ(cached.sizes(), whole.sizes());
    EXPECT_LT((cached - whole).abs().max().item<double>(), 1e-4 * whole.abs().max().item<double>()) << batch_size;
    EXPECT_TRUE(torch::equal(cached.argmax(1), whole.argmax(1)));
  }
  auto longer = model.builder->image_question(aspects[2], visual[2], model.soft_prompt, model.question + " Answer in one word.", nullptr);
  std::vector<SequenceSpec> unequal{prompts[0], longer};
  auto whole = score_candidates(*vlm, *model.builder, unequal, labels, 64, false);
  EXPECT_TRUE(torch::equal(score_candidates(*vlm, *model.builder, unequal, labels, 64), whole));
}

// Greedy generation with the prompts prefilled once (the default) decodes the tokens that recomputing the whole
// sequence at every step does, for a left-padded batch of prompts of unequal length, and each prompt alone.
TEST(GenerateGreedy, PrefixCacheGivesTheWholeSequencesTokens) {
  auto c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  auto vlm = open_bundle(c);
  ASSERT_TRUE(vlm->has_prefix_cache());
  auto images = open_split(*vlm, c, "train");
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::random_prompt());
  std::vector<int64_t> ids{0, 1, 2, 3};
  auto visual = images->visual(ids);
  std::vector<SequenceSpec> prompts;
  for (int64_t i = 0; i < 4; ++i) {
    const std::string question = model.question + (i % 2 ? " Answer in one word." : "");
    prompts.push_back(model.builder->image_question({}, visual[i], model.soft_prompt, question, nullptr));
  }
  const int64_t max_new = 6;
  auto whole = generate_greedy(*vlm, *model.builder, prompts, max_new, /*use_prefix_cache=*/false);
  auto cached = generate_greedy(*vlm, *model.builder, prompts, max_new);
  EXPECT_EQ(cached, whole);
  size_t longest = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(generate_greedy(*vlm, *model.builder, {prompts[i]}, max_new).at(0), whole[i]) << i;
    longest = std::max(longest, vlm->tokenizer().encode(whole[i]).size());
  }
  EXPECT_GE(longest, 2u) << "a test of decoding needs answers of more than one token";
}

}  // namespace
}  // namespace emotune
