#include <torch/torch.h>

#include "masp/answer_scoring.h"
#include "masp/sequence.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

std::vector<Segment> segments_of(const SequenceBatch& b, int64_t row) {
  std::vector<Segment> out;
  auto s = b.segments[row];
  for (int64_t i = 0; i < s.size(0); ++i) {
    auto seg = static_cast<Segment>(s[i].item<uint8_t>());
    if (out.empty() || out.back() != seg) out.push_back(seg);
  }
  return out;
}

class SequenceTest : public ::testing::Test {
 protected:
  void SetUp() override { vlm = load_frozen_vlm(testing::tiny_bundle()); }
  std::unique_ptr<FrozenVLM> vlm;
};

TEST_F(SequenceTest, PaperPlacementFollowsEquation4) {
  SequenceBuilder b(*vlm, {"sys", PromptPlacement::Paper, true});
  const int64_t d = vlm->spec().hidden_size;
  std::string label = "awe";
  auto spec = b.image_question(torch::randn({3, d}), torch::randn({16, d}), torch::randn({4, d}), "Which emotion?", &label);
  auto batch = b.assemble({spec});
  using S = Segment;
  EXPECT_EQ(segments_of(batch, 0), (std::vector<S>{S::Text, S::Aspect, S::Visual, S::Text, S::SoftPrompt, S::Text, S::Label}));
  EXPECT_EQ(batch.loss_mask.sum().item<int64_t>(), static_cast<int64_t>(vlm->tokenizer().encode(label).size()) + 1)
      << "the label tokens and the end-of-turn token are the targets";
}

TEST_F(SequenceTest, ReferencePlacementHasTwoSoftPromptCopies) {
  SequenceBuilder b(*vlm, {"sys", PromptPlacement::Reference, false});
  const int64_t d = vlm->spec().hidden_size;
  std::string label = "awe";
  auto batch = b.assemble({b.image_question(torch::randn({3, d}), torch::randn({16, d}), torch::randn({4, d}), "Which?", &label)});
  using S = Segment;
  EXPECT_EQ(segments_of(batch, 0), (std::vector<S>{S::Text, S::SoftPrompt, S::Text, S::Aspect, S::Visual, S::Text, S::SoftPrompt, S::Text, S::Label}));
  EXPECT_EQ(batch.loss_mask.sum().item<int64_t>(), static_cast<int64_t>(vlm->tokenizer().encode(label).size()))
      << "the reference code leaves end-of-turn out of the loss";
}

TEST_F(SequenceTest, LeftPaddingAndPositions) {
  SequenceBuilder b(*vlm, {});
  const int64_t d = vlm->spec().hidden_size;
  std::string a = "awe", c = "very high contentment";
  auto batch = b.assemble({b.aspect_question(torch::randn({1, d}), "Q?", &a), b.aspect_question(torch::randn({1, d}), "A much longer question here?", &c)});
  auto mask = batch.attention_mask;
  int64_t pad = mask.size(1) - mask[0].sum().item<int64_t>();
  ASSERT_GT(pad, 0);
  EXPECT_EQ(mask[0].slice(0, 0, pad).sum().item<int64_t>(), 0) << "padding is on the left";
  EXPECT_EQ(batch.position_ids[0][pad].item<int64_t>(), 0);
  EXPECT_EQ(batch.position_ids[0][-1].item<int64_t>(), mask[0].sum().item<int64_t>() - 1);
}

// A sample's loss must not depend on the other samples of its batch (the reference code is only right at batch 1).
TEST_F(SequenceTest, PaddingInvariance) {
  SequenceBuilder b(*vlm, {});
  const int64_t d = vlm->spec().hidden_size;
  torch::manual_seed(1);
  std::vector<std::string> answers{"sadness", "very high", "amusement park, balloon", "low"};
  std::vector<std::string> questions{"Q?", "How bright is the image? Answer with one of: very low, low, moderate, high, very high.",
                                     "What objects appear in the image?", "Rate it."};
  std::vector<SequenceSpec> specs;
  for (size_t i = 0; i < answers.size(); ++i)
    specs.push_back(b.image_question(torch::randn({2, d}), torch::randn({16, d}), torch::randn({3, d}), questions[i], &answers[i]));
  torch::NoGradGuard ng;
  auto together = score_answers(*vlm, b.assemble(specs));
  for (size_t i = 0; i < specs.size(); ++i) {
    auto alone = score_answers(*vlm, b.assemble({specs[i]}));
    EXPECT_NEAR(alone.log_likelihood[0].item<double>(), together.log_likelihood[static_cast<int64_t>(i)].item<double>(), 1e-5) << i;
    EXPECT_EQ(alone.tokens[0].item<int64_t>(), together.tokens[static_cast<int64_t>(i)].item<int64_t>());
  }
}

// The one prefix cut (split_specs) of stage 2's fast path and of label ranking: where each cuts, and when
// there is no cut.
TEST(SplitSpecs, CutsBeforeTheSoftPromptOrTheLastTokenAndRefusesWhatACacheCannotHold) {
  auto text = [](std::vector<int64_t> ids, bool in_loss = false) { return SequencePart{Segment::Text, std::move(ids), {}, in_loss, {}}; };
  auto soft = [](int64_t n) { return SequencePart{Segment::SoftPrompt, {}, torch::zeros({n, 4}), false, {}}; };
  const std::vector<SequenceSpec> specs{{text({1, 2}), text({3}), soft(2), text({4, 5}, true)},
                                        {text({6}), text({7, 8}), soft(2), text({9}, true)}};
  auto at_soft = split_specs(specs, PrefixCut::BeforeSoftPrompt);
  ASSERT_TRUE(at_soft);
  EXPECT_EQ(at_soft->prefixes[0].size(), 2u);
  EXPECT_EQ(at_soft->rests[1].front().segment, Segment::SoftPrompt);

  auto at_last = split_specs({{text({1, 2}), text({3, 4})}, {text({5}), text({6, 7, 8})}}, PrefixCut::BeforeLastToken);
  ASSERT_TRUE(at_last);
  EXPECT_EQ(at_last->prefixes[0].back().ids, (std::vector<int64_t>{3}));
  EXPECT_EQ(at_last->rests[0].size(), 1u);
  EXPECT_EQ(at_last->rests[0][0].ids, (std::vector<int64_t>{4}));
  EXPECT_EQ(at_last->rests[1][0].ids, (std::vector<int64_t>{8}));
  auto single = split_specs({{text({1, 2}), text({3})}}, PrefixCut::BeforeLastToken);
  ASSERT_TRUE(single);
  EXPECT_EQ(single->prefixes[0].size(), 1u) << "a one-token last part moves whole";

  EXPECT_FALSE(split_specs({{text({1}), text({2})}, {text({1, 2}), text({3})}}, PrefixCut::BeforeLastToken)) << "prefix lengths differ";
  EXPECT_FALSE(split_specs({{text({1}, true), soft(1)}}, PrefixCut::BeforeSoftPrompt)) << "a target inside the prefix";
  EXPECT_FALSE(split_specs({{soft(1), text({1})}}, PrefixCut::BeforeSoftPrompt)) << "an empty prefix";
  EXPECT_FALSE(split_specs({{text({1, 2})}}, PrefixCut::BeforeSoftPrompt)) << "no soft prompt";
  EXPECT_FALSE(split_specs({{text({1})}}, PrefixCut::BeforeLastToken)) << "a one-token prompt";
}

}  // namespace
}  // namespace emotune
