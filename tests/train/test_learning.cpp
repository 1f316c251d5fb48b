// Learning happens, on the embedded pretrained default (models/tiny) and a small affect world:
// stage 1 — the aspect modules learn to make the frozen LM answer aspect questions from z_i alone;
// stage 2 — the soft prompt alone learns a classification the question does not ask for.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

#include "eval/evaluate.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

EmotuneConfig learning_config(const std::string& run_dir) {
  auto c = testing::small_config(testing::small_world(240, 31), run_dir);
  c.bundle = testing::source_dir() + "/models/tiny";
  c.train.batch_size = 8;
  c.train.warmup_ratio = 0.05;
  c.train.checkpoint_every = 1000;
  return c;
}

TEST(Learning, StageOneAspectModulesLearnToAnswer) {
  auto c = learning_config(testing::scratch_dir("run"));
  c.masp.aspects = {"scene", "brightness"};
  c.masp.questions.erase("object");
  c.masp.questions.erase("colorfulness");
  c.train.lr = 3e-3;
  c.train.max_steps = 300;
  train_aspects(c);
  auto l = testing::logged_losses(c.run_dir);
  ASSERT_EQ(l.size(), 300u);
  EXPECT_LT(testing::mean_of(l, 290, 300), 0.5 * testing::mean_of(l, 0, 10)) << "stage-1 loss did not fall";

  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "test");
  auto modules = load_aspect_modules(c, vlm->spec().hidden_size, c.run_dir + "/checkpoint.safetensors");
  SequenceBuilder builder(*vlm, layout_options(c));
  auto result = evaluate_aspects(*vlm, builder, modules.get(), *images, make_aspect_samples(*images, c.masp.aspects, false),
                                 aspect_question_lists(c.masp), {EvalMode::Generate, 16, 8, false}, c.masp.aspects);
  // Chance: 1/6 scenes, 1/5 brightness bins (and generation could produce anything at all). One query token
  // after 300 steps on 177 images answers 66% (scene) and 70% (brightness) on an AMD EPYC (96 px bundle, lr 3e-3);
  // modules that learnt nothing would answer near chance. 150 steps gave 57% or more on earlier machines but 43%
  // for scenes there: so short a run is sensitive to the CPU's floating-point kernels, hence the 300.
  for (size_t a = 0; a < 2; ++a) {
    double acc = static_cast<double>(result.correct[a]) / static_cast<double>(result.total[a]);
    EXPECT_GT(acc, 0.45) << c.masp.aspects[a] << ": " << result.correct[a] << "/" << result.total[a];
  }
}

// Stage 2's machinery — sequence with V_global, soft prompt as the only trained tensor, label ranking —
// learning a classification. The targets are the images' scenes rather than their emotions: a soft prompt
// steers the frozen LM most easily toward words it already produces as a function of the image, so a few
// dozen steps suffice and the test stays fast (what the tiny LM reaches on the emotions themselves is measured
// in docs/affect-world.md). The question still asks for an emotion, so the prompt has to override it.
TEST(Learning, StageTwoSoftPromptLearnsAClassification) {
  auto c = learning_config(testing::scratch_dir("run"));
  std::ifstream in(c.data.manifest);
  std::string relabelled;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    j["label"] = j["aspects"]["scene"];
    relabelled += j.dump() + "\n";
  }
  c.data.manifest = c.data.manifest.substr(0, c.data.manifest.rfind('/')) + "/manifest_scene.jsonl";
  std::ofstream(c.data.manifest) << relabelled;
  c.data.labels = {"beach", "forest", "night street", "room", "storm", "amusement park"};
  c.masp.use_aspects = false;
  c.masp.soft_prompt_length = 32;
  c.train.batch_size = 16;
  c.train.lr = 5e-2;
  c.train.max_steps = 60;
  auto vlm = open_bundle(c);
  auto test = open_split(*vlm, c, "test");
  auto samples = make_emotion_samples(*test, c.data.labels);
  auto zero_shot_model = make_emotion_model(*vlm, c, "", EmotionModelParts::frozen_vlm());
  double zero_shot = evaluate_emotions(zero_shot_model, *test, samples, {EvalMode::Rank, 64, 8, false}).metrics.accuracy;

  train_prompt(c);
  auto l = testing::logged_losses(c.run_dir);
  EXPECT_LT(testing::mean_of(l, 50, 60), 0.5 * testing::mean_of(l, 0, 10)) << "stage-2 loss did not fall";
  auto model = make_emotion_model(*vlm, c, c.run_dir + "/checkpoint.safetensors", EmotionModelParts::prompt_only());
  double trained = evaluate_emotions(model, *test, samples, {EvalMode::Rank, 64, 8, false}).metrics.accuracy;
  EXPECT_GT(trained, 0.75) << "chance is 1/6";
  EXPECT_GT(trained, zero_shot + 0.1) << "zero-shot " << zero_shot;
}

TEST(EmbeddedDefault, CommittedBundleLoadsAndPassesValidation) {
  auto vlm = load_frozen_vlm(testing::source_dir() + "/models/tiny");
  EXPECT_EQ(vlm->spec().name, "tiny-affect-world");
  for (const auto& label : std::vector<std::string>{"amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"})
    EXPECT_LE(vlm->tokenizer().encode(label).size(), 3u) << label << " should be (nearly) a word of the vocabulary";
}

}  // namespace
}  // namespace emotune
