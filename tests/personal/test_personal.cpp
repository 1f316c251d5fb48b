#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include <set>

#include "core/atomic_file.h"
#include "data/manifest.h"
#include "io/safetensors.h"
#include "recipes/personalize.h"
#include "eval/evaluate.h"
#include "masp/stages.h"
#include "personal/personal_head.h"
#include "personal/user_images.h"
#include "synth/affect_world.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

WorldSummary users_world(const std::string& dir, int64_t images, int64_t users) {
  WorldOptions o;
  o.out_dir = dir, o.images = images, o.users = users, o.seed = 21;
  return synthesize_world(o);
}

TEST(SyntheticUsers, EachUserHasATableASplitAndKnownLimits) {
  auto summary = users_world(testing::scratch_dir("world"), 200, 5);
  ASSERT_EQ(summary.users.size(), 5u);
  auto manifest = load_manifest(summary.manifest);
  std::map<std::string, std::pair<int, int>> train_total;
  for (const auto& r : manifest.rows) {
    ASSERT_FALSE(r.user.empty());
    train_total[r.user].first += r.split == "train";
    train_total[r.user].second++;
  }
  for (const auto& [user, tt] : train_total) EXPECT_EQ(tt.first, 12) << user << ": 30% of 40 images train";
  for (const auto& u : summary.users) {
    const auto& test = u.splits[2];
    EXPECT_EQ(test.images, 28);
    EXPECT_LE(test.global_rule_accuracy, test.bayes_accuracy + 1e-12) << u.id;
  }
  // The tastes differ between users and are reproducible.
  EXPECT_EQ(make_user_taste(21, 1, 0.6).scene_offsets, make_user_taste(21, 1, 0.6).scene_offsets);
  EXPECT_NE(make_user_taste(21, 1, 0.6).scene_offsets, make_user_taste(21, 2, 0.6).scene_offsets);
  const auto taste = make_user_taste(21, 1, 0.6);
  WorldAspects shown;
  shown.objects = {1};
  auto p = emotion_distribution(shown, 2.5), q = emotion_distribution(shown, 2.5, &taste);
  EXPECT_NE(p, q);
}

// One forward batch holding sequences of different users, each with its own prompt, scores exactly as
// evaluating every user alone.
TEST(PersonalPrompts, MixedUserBatchesEqualPerUserEvaluation) {
  auto summary = users_world(testing::scratch_dir("world"), 24, 3);
  auto c = testing::small_config(summary.manifest, testing::scratch_dir("run"));
  auto vlm = open_bundle(c);
  auto model = make_emotion_model(*vlm, c, "", EmotionModelParts::random_prompt());
  auto test = open_split(*vlm, c, "test");
  auto train = open_split(*vlm, c, "train");
  auto samples = make_emotion_samples(*test, c.data.labels);
  auto users = group_images_by_user(*train, *test, {}, 0.25, 3);
  ASSERT_EQ(users.size(), 3u);
  std::map<std::string, torch::Tensor> prompt_of;
  for (size_t k = 0; k < users.size(); ++k) prompt_of[users[k].user] = torch::randn_like(model.soft_prompt) * 0.5;
  std::vector<torch::Tensor> prompts;
  for (const auto& s : samples) prompts.push_back(prompt_of[test->rows()[static_cast<size_t>(s.image)].user]);
  EvalOptions o{EvalMode::Rank, 16, 4, false};
  auto mixed = evaluate_emotions(model, *test, samples, o, prompts);
  for (const auto& u : users) {
    std::vector<EmotionSample> mine;
    for (auto i : u.test) mine.push_back(samples[static_cast<size_t>(i)]);
    model.soft_prompt = prompt_of[u.user];
    auto alone = evaluate_emotions(model, *test, mine, o);
    for (size_t k = 0; k < mine.size(); ++k) {
      const auto& a = alone.predictions[k].scores;
      const auto& b = mixed.predictions[static_cast<size_t>(u.test[k])].scores;
      for (size_t l = 0; l < a.size(); ++l) EXPECT_NEAR(a[l], b[l], 1e-4) << u.user;
    }
  }
}

// A user head fitted on few examples moves from the global head toward the user's own rule and stops
// where held-out examples say so.
TEST(PersonalHeads, UserHeadLearnsTheUsersRuleFromFewExamples) {
  torch::manual_seed(0);
  const int64_t classes = 4, features = 6;
  auto x = torch::randn({400, features});
  auto global_y = x.slice(1, 0, classes).argmax(1);                        // the population's rule
  auto user_y = x.slice(1, 0, classes).index({torch::indexing::Slice(), torch::tensor({1, 0, 3, 2})}).argmax(1);  // swapped feelings
  auto global = fit_head(zero_head(classes, features), x.slice(0, 0, 300), global_y.slice(0, 0, 300), x.slice(0, 300, 400),
                         global_y.slice(0, 300, 400), {300, 0.05, 1e-4, 5, 4});
  auto acc = [&](const LinearHead& h, const torch::Tensor& xs, const torch::Tensor& ys) {
    return h.logits(xs).argmax(1).eq(ys).to(torch::kFloat64).mean().item<double>();
  };
  auto ux = torch::randn({60, features});
  auto uy = ux.slice(1, 0, classes).index({torch::indexing::Slice(), torch::tensor({1, 0, 3, 2})}).argmax(1);
  auto user = fit_head(global.head, ux.slice(0, 0, 30), uy.slice(0, 0, 30), ux.slice(0, 30, 40), uy.slice(0, 30, 40), {300, 0.05, 1e-3, 5, 4});
  EXPECT_GT(acc(global.head, x, global_y), 0.8);
  EXPECT_LT(acc(global.head, x, user_y), 0.3);
  EXPECT_GT(acc(user.head, x, user_y), 0.7) << "kept step " << user.steps;
  EXPECT_GT(user.steps, 0);
}

// The whole command on a small world: stage 1 and 2 are trained first, every user gets a prompt and a head in
// one store, the report has every setting, and a second run reuses the stored prompts.
TEST(Personalize, FitsStoresReportsAndResumes) {
  auto summary = users_world(testing::scratch_dir("world"), 36, 3);
  const auto run = testing::scratch_dir("run");
  auto c = testing::small_config(summary.manifest, run);
  write_file_atomic(run + "/base.yaml", config_to_yaml(c));
  const std::vector<std::string> files{run + "/base.yaml"};
  const std::vector<std::string> sets{"personal.prompt_steps=2", "personal.eval_every=1", "personal.head_steps=20",
                                      "personal.head_global_steps=20"};
  auto first = run_personalize(files, sets);
  ASSERT_EQ(first.users.size(), 3u);
  auto store = load_safetensors(run + "/personal.safetensors");
  for (const auto& u : first.users) {
    EXPECT_TRUE(store.tensors.count("prompt/" + u.user)) << u.user;
    EXPECT_EQ(store.tensors.at("head/" + u.user + "/weight").size(0), 8);
    std::set<std::string> settings;
    for (const auto& [name, acc] : u.accuracy) {
      settings.insert(name);
      EXPECT_GE(acc, 0.0) << name;
    }
    EXPECT_EQ(settings, (std::set<std::string>{"global prompt", "global head", "user head", "cross-user head", "user prompt", "cross-user prompt"}));
    EXPECT_GE(u.bayes, u.global_rule);
  }
  EXPECT_NE(first.report_markdown.find("cross-user prompt"), std::string::npos);
  auto second = run_personalize(files, with_entries(sets, {"personal.prompt_steps=50"}));  // resumed: no refit
  auto again = load_safetensors(run + "/personal.safetensors");
  for (const auto& u : first.users) EXPECT_TRUE(torch::equal(store.tensors.at("prompt/" + u.user), again.tensors.at("prompt/" + u.user)));
  EXPECT_EQ(second.summary["over_users"]["user prompt"], first.summary["over_users"]["user prompt"]);
}

}  // namespace
}  // namespace emotune
