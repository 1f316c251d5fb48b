// Lantern's pure parts (paper 004): receptive fields, the prompt of a field, the strict reading of an LLM's answer,
// and the attention-weighted fusion against hand computations.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "lantern/fusion.h"
#include "lantern/receptive_fields.h"
#include "lantern/refine_answer.h"
#include "lantern/refine_prompt.h"
#include "test_support.h"

namespace emotune {
namespace {

std::vector<int64_t> fields_holding(const std::vector<ReceptiveField>& fields, int64_t item) {
  std::vector<int64_t> out;
  for (size_t f = 0; f < fields.size(); ++f)
    if (fields[f].contains(item)) out.push_back(static_cast<int64_t>(f));
  return out;
}

TEST(ReceptiveFields, EveryItemLiesInExactlyTFieldsEdgesIncluded) {
  // n = 10, w = 4, t = 2: stride 2, windows start at -2, 0, 2, 4, 6, 8 → clipped [0,2) [0,4) [2,6) [4,8) [6,10) [8,10).
  auto fields = receptive_fields(10, 4, 2);
  ASSERT_EQ(fields.size(), 6u);
  const std::vector<std::pair<int64_t, int64_t>> expected{{0, 2}, {0, 4}, {2, 6}, {4, 8}, {6, 10}, {8, 10}};
  for (size_t f = 0; f < fields.size(); ++f) EXPECT_EQ(std::make_pair(fields[f].start, fields[f].end), expected[f]) << f;
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(fields_holding(fields, i).size(), 2u) << i;
  EXPECT_EQ(fields[0].before(0), 0);  // an edge item sees context on one side only
  EXPECT_EQ(fields[1].after(0), 3);
  EXPECT_EQ(fields[2].before(3), 1);
  EXPECT_EQ(fields[2].after(3), 2);
  for (auto [n, w, t] : {std::tuple<int64_t, int64_t, int64_t>{7, 6, 3}, {3, 8, 4}, {12, 5, 1}, {1, 4, 4}, {9, 9, 9}}) {
    SCOPED_TRACE(concat(n, " items, w ", w, ", t ", t));
    auto fs = receptive_fields(n, w, t);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(static_cast<int64_t>(fields_holding(fs, i).size()), t) << i;
    for (const auto& f : fs) {
      EXPECT_LE(f.end - f.start, w);
      EXPECT_LT(f.start, f.end);
    }
  }
  EXPECT_TRUE(receptive_fields(0, 4, 2).empty());
  auto message = testing::error_message([] { receptive_fields(10, 4, 3, "lantern.window", "lantern.fields_per_item"); });
  EXPECT_NE(message.find("lantern.fields_per_item must divide lantern.window (4)"), std::string::npos) << message;
}

TEST(RefinePrompt, AFieldListsItsItemsInOrderWithTheirReferences) {
  RefinePromptOptions o;
  o.labels = {"happy", "sad", "neutral", "angry"};
  o.dimensions = {"valence", "arousal"};
  o.top_k = 2;
  std::vector<SequenceItem> items{{"A", "Hi there.", {0.1, 0.1, 0.7, 0.1}, {3.0, 2.0}},
                                  {"B", "I lost my job.", {0.05, 0.6, 0.3, 0.05}, {1.5, 2.5}},
                                  {"A", "Oh no, I am so sorry!", {0.1, 0.5, 0.2, 0.2}, {1.75, 3.25}}};
  auto messages = refine_messages("Ses01F_impro01", items, {1, 3}, o);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0]["role"], "system");
  const auto user = messages[1]["content"].get<std::string>();
  EXPECT_NE(user.find("Below are utterances 2 to 3 of the 3 of dialogue \"Ses01F_impro01\", in order."), std::string::npos) << user;
  EXPECT_NE(user.find("its 2 most likely labels with their probabilities, and its valence, arousal scores"), std::string::npos) << user;
  EXPECT_NE(user.find("Labels: happy, sad, neutral, angry\n"), std::string::npos) << user;
  EXPECT_NE(user.find("1. [B] \"I lost my job.\" (reference: sad 0.60, neutral 0.30; valence 1.50, arousal 2.50)\n"
                      "2. [A] \"Oh no, I am so sorry!\" (reference: sad 0.50, neutral 0.20; valence 1.75, arousal 3.25)\n"),
            std::string::npos)
      << user;
  EXPECT_EQ(user.find("Hi there."), std::string::npos) << "item 0 is outside the field";
  EXPECT_NE(user.find("{\"items\": [{\"index\": 1, \"probabilities\": {\"happy\": 1.0, \"sad\": 0.0, \"neutral\": 0.0, \"angry\": 0.0}}, ...]}"),
            std::string::npos)
      << user;
}

TEST(RefineAnswer, ReadsStrictlyAndSaysWhyAFieldIsInvalid) {
  const std::vector<std::string> labels{"happy", "sad", "neutral"};
  auto ok = parse_refinement("Sure:\n```json\n{\"items\": [{\"index\": 2, \"probabilities\": {\"sad\": 0.9, \"Neutral \": 0.1}},"
                             " {\"index\": 1, \"probabilities\": {\"happy\": 0.5, \"sad\": 0.2, \"neutral\": 0.31}}]}\n```",
                             2, labels);
  ASSERT_TRUE(ok.valid) << ok.error;
  EXPECT_EQ(ok.rescaled, 0) << "1.01 is within the tolerance";
  EXPECT_NEAR(ok.probabilities[0][0], 0.5 / 1.01, 1e-12);
  EXPECT_EQ(ok.probabilities[1], (std::vector<double>{0.0, 0.9, 0.1}));  // a label not given is 0; case and spaces ignored
  auto off = parse_refinement("{\"items\": [{\"index\": 1, \"probabilities\": {\"happy\": 3, \"sad\": 1}}]}", 1, labels);
  ASSERT_TRUE(off.valid);
  EXPECT_EQ(off.rescaled, 1);
  EXPECT_EQ(off.probabilities[0], (std::vector<double>{0.75, 0.25, 0.0}));
  const std::vector<std::pair<std::string, std::string>> bad{
      {"I think item 1 is happy.", "the answer holds no JSON object"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"happy\": 1}}", "the answer's JSON does not parse"},
      {"{\"item\": []}", "no \"items\" array"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"happy\": 1}}]}", "item 2 is missing"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"joy\": 1}}, {\"index\": 2, \"probabilities\": {\"sad\": 1}}]}",
       "item 1: label 'joy' is not one of the label set"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"sad\": -0.5, \"happy\": 1.5}}, {\"index\": 2, \"probabilities\": {\"sad\": 1}}]}",
       "item 1: the probability of 'sad' is -0.5"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"sad\": \"high\"}}, {\"index\": 2, \"probabilities\": {\"sad\": 1}}]}",
       "item 1: the probability of 'sad' is not a number"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"sad\": 0}}, {\"index\": 2, \"probabilities\": {\"sad\": 1}}]}",
       "item 1: its probabilities sum to 0"},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"sad\": 1}}, {\"index\": 1, \"probabilities\": {\"sad\": 1}}]}", "item 1 is given twice"},
      {"{\"items\": [{\"index\": 3, \"probabilities\": {\"sad\": 1}}]}", "item 3 is not one of 1..2"},
      {"{\"items\": [{\"probabilities\": {\"sad\": 1}}]}", "has no integer \"index\""},
      {"{\"items\": [{\"index\": 1, \"probabilities\": {\"Sad\": 0.5, \"sad \": 0.5}}, {\"index\": 2, \"probabilities\": {\"sad\": 1}}]}",
       "item 1: label 'sad' is given twice"},
  };
  for (const auto& [answer, why] : bad) {
    auto r = parse_refinement(answer, 2, labels);
    EXPECT_FALSE(r.valid) << answer;
    EXPECT_NE(r.error.find(why), std::string::npos) << answer << "\n  said: " << r.error;
  }
}

TEST(LanternFusion, FeaturesAndWeightsEqualAHandComputation) {
  // Vanilla (0.5, 0.3, 0.2); a refinement (0.1, 0.8, 0.1) seen with 1 item before and 2 after in fields of w = 4.
  FusionCandidate vanilla{{0.5, 0.3, 0.2}, 0, 0, true, false}, refined{{0.1, 0.8, 0.1}, 1, 2, false, false};
  auto f = fusion_features(refined, vanilla.probabilities, 4);
  const double entropy = -(0.1 * std::log(0.1) * 2 + 0.8 * std::log(0.8)) / std::log(3.0);
  const double cosine = (0.05 + 0.24 + 0.02) / std::sqrt((0.01 + 0.64 + 0.01) * (0.25 + 0.09 + 0.04));
  const std::vector<double> expected{0, 1.0 / 3, 2.0 / 3, 1.0 / 3, entropy, cosine, 0, 0.8, 0};
  ASSERT_EQ(f.size(), expected.size());
  for (size_t q = 0; q < expected.size(); ++q) EXPECT_NEAR(f[q], expected[q], 1e-6) << q;
  EXPECT_EQ(fusion_features(vanilla, vanilla.probabilities, 4)[0], 1.0f);
  EXPECT_EQ(fusion_features({vanilla.probabilities, 1, 2, false, true}, vanilla.probabilities, 4)[8], 1.0f) << "a fallen-back field";

  // A fusion whose score is a_c = 2·tanh(is_vanilla) (hidden unit 0 reads feature 0): weights ∝ (e^{2 tanh 1}, 1).
  LanternFusion fusion(FusionOptions{1, false, 1});
  {
    torch::NoGradGuard no_grad;
    fusion->hidden->weight.zero_();
    fusion->hidden->weight[0][0] = 1.0;
    fusion->score->weight[0][0] = 2.0;
  }
  auto batch = fusion_batch({{vanilla, refined}}, 4, {1});
  auto weights = fusion->weights(batch.features);
  const double e = std::exp(2 * std::tanh(1.0)), wv = e / (e + 1), wr = 1 / (e + 1);
  EXPECT_NEAR(weights[0][0].item<double>(), wv, 1e-6);
  EXPECT_NEAR(weights[0][1].item<double>(), wr, 1e-6);
  auto fused = fusion->forward(batch.features, batch.probabilities);
  for (int64_t k = 0; k < 3; ++k)
    EXPECT_NEAR(fused[0][k].item<double>(), wv * vanilla.probabilities[static_cast<size_t>(k)] + wr * refined.probabilities[static_cast<size_t>(k)], 1e-6);
  EXPECT_NEAR(fusion_loss(fusion, batch), -std::log(wv * 0.3 + wr * 0.8 + 1e-9), 1e-6);
  // The ablation and an unfitted module: the uniform average.
  LanternFusion uniform(FusionOptions{4, true, 1}), fresh(FusionOptions{});
  EXPECT_NEAR(uniform->forward(batch.features, batch.probabilities)[0][1].item<double>(), 0.55, 1e-6);
  EXPECT_NEAR(fresh->forward(batch.features, batch.probabilities)[0][1].item<double>(), 0.55, 1e-6);
}

// Items whose refinements are right when they agree with each other at the field's centre and noise at its edges:
// the fitted weighting learns to trust the centred candidates and beats the uniform average on held-out items; a
// saved module loads back with the same outputs.
TEST(LanternFusion, FittingLearnsWhichCandidatesToTrustAndRoundTrips) {
  auto gen = at::detail::createCPUGenerator(11);
  auto make = [&](int64_t n) {
    std::vector<std::vector<FusionCandidate>> items;
    std::vector<int64_t> gold;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t g = torch::randint(3, {1}, gen).item<int64_t>();
      auto noise = [&]() {
        auto p = torch::softmax(torch::randn({3}, gen) * 2, 0);
        return std::vector<double>{p[0].item<double>(), p[1].item<double>(), p[2].item<double>()};
      };
      std::vector<double> right{0.1, 0.1, 0.1};
      right[static_cast<size_t>(g)] = 0.8;
      items.push_back({{noise(), 0, 0, true, false}, {right, 2, 2, false, false}, {noise(), 0, 4, false, false}});
      gold.push_back(g);
    }
    return std::make_pair(items, gold);
  };
  auto [fit_items, fit_gold] = make(300);
  auto [held_items, held_gold] = make(200);
  auto fit = fusion_batch(fit_items, 5, fit_gold), held = fusion_batch(held_items, 5, held_gold);
  LanternFusion fusion(FusionOptions{}), uniform(FusionOptions{16, true, 1});
  auto accuracy = [&](LanternFusion& f) {
    torch::NoGradGuard no_grad;
    return f->forward(held.features, held.probabilities).argmax(1).eq(held.gold).to(torch::kFloat64).mean().item<double>();
  };
  auto r = fit_fusion(fusion, fit, held);
  EXPECT_GT(r.steps, 0);
  EXPECT_LT(fusion_loss(fusion, held), fusion_loss(uniform, held) - 0.2);
  EXPECT_GT(accuracy(fusion), accuracy(uniform) + 0.05);
  auto path = testing::scratch_dir("fusion") + "/fusion.safetensors";
  save_fusion(path, fusion);
  auto loaded = load_fusion(path);
  EXPECT_TRUE(torch::equal(loaded->forward(held.features, held.probabilities), fusion->forward(held.features, held.probabilities)));
}

}  // namespace
}  // namespace emotune
