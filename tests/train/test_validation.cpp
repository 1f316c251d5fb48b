// train.validation_split: the held-out loss is logged at every epoch's end and at the last step, equals the
// loss of the saved checkpoint on that split computed afresh, and watching it changes nothing that trains.
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.h"
#include "data/manifest.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

struct ValidationLine {
  int64_t step = 0;
  double loss = 0;
  int64_t samples = 0;
};

std::vector<ValidationLine> validation_lines(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<ValidationLine> out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("val_loss")) out.push_back({j["step"].get<int64_t>(), j["val_loss"].get<double>(), j["val_samples"].get<int64_t>()});
  }
  return out;
}

EmotuneConfig two_epochs(const std::string& run_dir) {
  auto c = testing::small_config(testing::small_world(40), run_dir);
  c.train.max_steps = 0;
  c.train.epochs = 2;
  c.train.batch_size = 8;
  return c;
}

int64_t rows_in(const EmotuneConfig& c, const std::string& split) {
  return static_cast<int64_t>(load_manifest(c.data.manifest).split(split, 0).size());
}

TEST(Validation, PromptLossIsLoggedPerEpochAndIsTheCheckpointsLoss) {
  auto dir = testing::scratch_dir("validation");
  auto c = two_epochs(dir + "/with");
  c.masp.use_aspects = false;
  c.train.validation_split = "val";
  auto result = train_prompt(c);
  const int64_t steps_per_epoch = (rows_in(c, "train") + 7) / 8;
  auto lines = validation_lines(c.run_dir);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].step, steps_per_epoch);
  EXPECT_EQ(lines[1].step, 2 * steps_per_epoch);
  EXPECT_EQ(lines[1].samples, rows_in(c, "val"));
  EXPECT_NE(lines[0].loss, lines[1].loss) << "the prompt trained between the two checks";
  EXPECT_EQ(testing::logged_losses(c.run_dir).size(), static_cast<size_t>(2 * steps_per_epoch)) << "one loss line per step, as before";

  // The last logged value is the saved prompt's token-mean loss on the whole split, computed afresh.
  auto vlm = open_bundle(c);
  auto val = open_split(*vlm, c, "val");
  auto model = make_emotion_model(*vlm, c, result.checkpoint, EmotionModelParts::prompt_only());
  PromptTask task(model, *val, make_emotion_samples(*val, c.data.labels));
  std::vector<int64_t> all(static_cast<size_t>(task.num_samples()));
  std::iota(all.begin(), all.end(), 0);
  EXPECT_NEAR(mean_loss(task, all, 5), lines[1].loss, 1e-5);
  const auto best = lines[0].loss < lines[1].loss ? lines[0] : lines[1];
  EXPECT_EQ(result.best_validation_step, best.step);
  EXPECT_DOUBLE_EQ(result.best_validation_loss, best.loss);

  // Watching the held-out loss leaves training as it was: the same prompt, bit for bit.
  auto without = two_epochs(dir + "/without");
  without.masp.use_aspects = false;
  train_prompt(without);
  testing::expect_same_tensors(c.run_dir + "/checkpoint.safetensors", without.run_dir + "/checkpoint.safetensors");
}

TEST(Validation, AspectStageValidatesEveryNStepsToo) {
  auto dir = testing::scratch_dir("validation-aspects");
  auto c = testing::small_config(testing::small_world(40), dir + "/with");
  c.train.max_steps = 5;
  c.train.validation_split = "val";
  c.train.validate_every = 2;
  train_aspects(c);
  std::vector<int64_t> steps;
  for (const auto& line : validation_lines(c.run_dir)) steps.push_back(line.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 4, 5}));
  auto without = c;
  without.run_dir = dir + "/without";
  without.train.validation_split.clear();
  train_aspects(without);
  testing::expect_same_tensors(c.run_dir + "/checkpoint.safetensors", without.run_dir + "/checkpoint.safetensors");
}

TEST(Validation, BadSplitsAreRefusedNamingTheKey) {
  auto c = testing::small_config(testing::small_world(40), testing::scratch_dir("validation-bad"));
  c.train.max_steps = 1;
  c.train.validation_split = "dev";
  try {
    train_aspects(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no rows in split 'dev' (chosen by train.validation_split)"), std::string::npos) << e.what();
  }
  EXPECT_NE(testing::config_error({}, {"train.validation_split=train"}).find("the training split itself"), std::string::npos);
}

}  // namespace
}  // namespace emotune
