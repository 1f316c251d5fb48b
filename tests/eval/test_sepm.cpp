// SEPM's pure parts against hand computations (paper 003; eval/sepm.h): the polarity tables, Eq. 4 both ways, the
// fine stage's options and query, the answer's mapping, and Eq. 6-10's drop set on a fixed attention tensor.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "eval/label_polarity.h"
#include "eval/sepm.h"
#include "test_support.h"

namespace emotune {
namespace {

const std::vector<std::string> kMikels{"amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"};

TEST(LabelPolarity, EveryKnownLabelSetSplitsAndAnUnknownLabelIsNamed) {
  auto mikels = split_by_polarity(kMikels);
  EXPECT_EQ(mikels.positive, (std::vector<std::string>{"amusement", "awe", "contentment", "excitement"}));
  EXPECT_EQ(mikels.negative, (std::vector<std::string>{"anger", "disgust", "fear", "sadness"}));
  auto emotion6 = split_by_polarity({"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"});
  EXPECT_EQ(emotion6.positive, (std::vector<std::string>{"joy", "surprise"}));
  EXPECT_EQ(emotion6.neutral, std::vector<std::string>{"neutral"});
  auto fer = split_by_polarity({"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"});
  EXPECT_EQ(fer.negative, (std::vector<std::string>{"angry", "disgust", "fear", "sad"}));
  auto webemo = split_by_polarity({"love", "joy", "surprise", "confusion", "anger", "fear", "sadness"});
  EXPECT_EQ(webemo.positive.size(), 3u);
  EXPECT_EQ(webemo.negative.size(), 4u);
  EXPECT_EQ(polarity_of("Positive"), Polarity::Positive);  // case does not matter
  EXPECT_EQ(polarity_of("negative"), Polarity::Negative);
  const auto message = testing::error_message([] { polarity_of("boredom"); });
  EXPECT_NE(message.find("label 'boredom' has no known polarity"), std::string::npos) << message;
}

TEST(Sepm, ConfidenceIsEq4OrTheCodesUnbiasedVariance) {
  // pA = 0.7, pB = 0.1: mean 0.4, squared deviations 0.09 + 0.09 = 0.18.
  EXPECT_NEAR(sepm_confidence(0.7, 0.1, SepmVariance::Paper), 0.09, 1e-12);  // 0.18 / 2 = (0.6)^2 / 4
  EXPECT_NEAR(sepm_confidence(0.7, 0.1, SepmVariance::Code), 0.18, 1e-12);   // 0.18 / 1 = (0.6)^2 / 2
  // Against α = 0.1 the two disagree here: the paper calls it ambiguous, the code confident.
  EXPECT_LT(sepm_confidence(0.7, 0.1, SepmVariance::Paper), 0.1);
  EXPECT_GT(sepm_confidence(0.7, 0.1, SepmVariance::Code), 0.1);
  EXPECT_EQ(sepm_confidence(0.3, 0.3, SepmVariance::Paper), 0.0);
  EXPECT_NEAR(sepm_confidence(1.0, 0.0, SepmVariance::Paper), 0.25, 1e-12);
}

TEST(Sepm, TheFineStageListsExactlyThePredictedPolaritysOptions) {
  auto kept = sepm_fine_options(kMikels, Polarity::Negative, true);
  EXPECT_EQ(kept, (std::vector<bool>{false, false, false, false, true, true, true, true}));
  EXPECT_EQ(sepm_fine_question(kMikels, kept, false),
            "Which of the following descriptions best represents the image?\nE. anger F. disgust G. fear H. sadness\n"
            "Answer directly with the letter of the chosen option.");
  // Below the threshold: every option, letters in place, and the ambiguity sentence.
  auto all = sepm_fine_options(kMikels, Polarity::Negative, false);
  EXPECT_EQ(std::count(all.begin(), all.end(), true), 8);
  auto question = sepm_fine_question(kMikels, all, true);
  EXPECT_NE(question.find("A. amusement B. awe C. contentment D. excitement E. anger"), std::string::npos) << question;
  EXPECT_NE(question.find("ambiguous"), std::string::npos);
  // A neutral label stays with either polarity.
  auto with_neutral = sepm_fine_options({"joy", "anger", "neutral"}, Polarity::Positive, true);
  EXPECT_EQ(with_neutral, (std::vector<bool>{true, false, true}));
  // The coarse query names both lists after the FoE sentence.
  auto coarse = sepm_coarse_question(kMikels);
  EXPECT_EQ(coarse.rfind("Please focus on emotion. ", 0), 0u) << coarse;
  EXPECT_NE(coarse.find("A. Positive B. Negative"), std::string::npos);
  EXPECT_NE(coarse.find("Negative emotions include anger, disgust, fear, sadness."), std::string::npos) << coarse;
  EXPECT_NE(testing::error_message([] { sepm_coarse_question({"anger", "fear"}); }).find("needs positive and negative"), std::string::npos);
}

TEST(Sepm, AnAnswerCountsOnlyAsOneKeptOptionsLetter) {
  auto kept = sepm_fine_options(kMikels, Polarity::Negative, true);
  EXPECT_EQ(sepm_answer_label("E", kept), 4);
  EXPECT_EQ(sepm_answer_label(" H.\n", kept), 7);
  EXPECT_EQ(sepm_answer_label("G)", kept), 6);
  EXPECT_EQ(sepm_answer_label("A", kept), -1);       // a letter of a dropped option
  EXPECT_EQ(sepm_answer_label("fear", kept), -1);    // a label, not a letter
  EXPECT_EQ(sepm_answer_label("E F", kept), -1);
  EXPECT_EQ(sepm_answer_label("", kept), -1);
  EXPECT_EQ(sepm_answer_label("Z", kept), -1);
}

TEST(Sepm, TheDropSetIsTheLeastAttendedVisualTokensTiesByPosition) {
  // Sequence of 8 tokens: 5 visual at columns 1..5, the FoE sentence at rows 6 and 7; 2 heads.
  auto a = torch::zeros({2, 8, 8}, torch::kFloat32);
  // Row 6: head 0 / head 1 over columns 1..5; row 7 likewise. Head means: row 6 (0.1, 0.3, 0.2, 0.1, 0.3),
  // row 7 (0.3, 0.1, 0.2, 0.1, 0.3); P̄ = (0.2, 0.2, 0.2, 0.1, 0.3).
  const float h0r6[] = {0.0f, 0.4f, 0.2f, 0.2f, 0.2f}, h1r6[] = {0.2f, 0.2f, 0.2f, 0.0f, 0.4f};
  const float h0r7[] = {0.4f, 0.0f, 0.2f, 0.2f, 0.2f}, h1r7[] = {0.2f, 0.2f, 0.2f, 0.0f, 0.4f};
  for (int j = 0; j < 5; ++j) {
    a[0][6][1 + j] = h0r6[j], a[1][6][1 + j] = h1r6[j];
    a[0][7][1 + j] = h0r7[j], a[1][7][1 + j] = h1r7[j];
  }
  const std::vector<int64_t> rows{6, 7}, cols{1, 2, 3, 4, 5};
  auto scores = sepm_visual_scores(a, rows, cols);
  const std::vector<double> expected{0.2, 0.2, 0.2, 0.1, 0.3};
  for (int j = 0; j < 5; ++j) EXPECT_NEAR(scores[j].item<double>(), expected[static_cast<size_t>(j)], 1e-7) << j;
  EXPECT_EQ(sepm_drop_set(a, rows, cols, 0.2), std::vector<int64_t>{3});          // ⌊0.2·5⌋ = 1: the 0.1
  EXPECT_EQ(sepm_drop_set(a, rows, cols, 0.4), (std::vector<int64_t>{0, 3}));     // then the first of the tied 0.2s
  EXPECT_EQ(sepm_drop_set(a, rows, cols, 0.6), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_TRUE(sepm_drop_set(a, rows, cols, 0.0).empty());                         // β = 0 drops nothing
  EXPECT_TRUE(sepm_drop_set(a, rows, cols, 0.19).empty());                        // ⌊0.95⌋ = 0
  EXPECT_NE(testing::error_message([&] { sepm_drop_set(a, rows, cols, 1.0); }).find("beta must be in [0, 1)"), std::string::npos);
}

}  // namespace
}  // namespace emotune
