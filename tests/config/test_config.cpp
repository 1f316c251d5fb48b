#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "core/error.h"
#include "test_support.h"

namespace emotune {
namespace {

std::string write_yaml(const std::string& text) { return testing::write_yaml(text, "cfg"); }
std::string error_of(const std::vector<std::string>& files, const std::vector<std::string>& overrides = {}) {
  return testing::config_error(files, overrides);
}

// Every config the repository ships loads (unknown or misspelt keys, wrong types and cross-key checks are
// errors): a user's first command with one of them must not fail on the config itself.
TEST(Config, EveryShippedConfigLoads) {
  int64_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_dir() + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_EQ(error_of({entry.path().string()}), "") << entry.path();
    ++n;
  }
  EXPECT_GE(n, 3);
}

TEST(Config, FileValuesAndOverridesApplyInOrder) {
  auto path = write_yaml("train:\n  lr: 0.5\n  batch_size: 3\nmasp:\n  aspects: [scene, brightness]\n");
  auto c = load_config({path}, {"train.lr=0.25", "masp.prompt_placement=reference"});
  EXPECT_DOUBLE_EQ(c.train.lr, 0.25);
  EXPECT_EQ(c.train.batch_size, 3);
  EXPECT_EQ(c.masp.aspects, (std::vector<std::string>{"scene", "brightness"}));
  EXPECT_STREQ(name_of(c.masp.prompt_placement), "reference");
  EXPECT_EQ(c.masp.questions.size(), 2u) << "templates of unused built-in aspects are dropped";
  auto q = load_config({}, {"masp.emotion_question=Choose from: {labels}. Which one?", "run_dir="});
  EXPECT_EQ(q.masp.emotion_question, "Choose from: {labels}. Which one?") << "string values are taken verbatim";
  EXPECT_EQ(q.run_dir, "");
}

TEST(Config, UnknownKeyNamesFileLineAndSuggestion) {
  auto path = write_yaml("seed: 1\ntrain:\n  batch_size: 2\n  lerning_rate: 0.1\n");
  auto msg = error_of({path});
  EXPECT_NE(msg.find(path + ":4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown config key 'train.lerning_rate'"), std::string::npos) << msg;
  auto near = error_of({}, {"train.bach_size=3"});
  EXPECT_NE(near.find("did you mean 'train.batch_size'"), std::string::npos) << near;
}

TEST(Config, WrongTypeNamesKeyAndExpectation) {
  auto path = write_yaml("train:\n  epochs: three\n");
  auto msg = error_of({path});
  EXPECT_NE(msg.find(path + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'train.epochs' expects an integer, got 'three'"), std::string::npos) << msg;
  EXPECT_NE(error_of({}, {"masp.aspects=scene"}).find("expects a list of strings"), std::string::npos);
  EXPECT_NE(error_of({}, {"train.optimizer=adam"}).find("did you mean 'adamw'"), std::string::npos);
}

TEST(Config, CrossKeyValidation) {
  EXPECT_NE(error_of({}, {"masp.aspects=[scene, mood]"}).find("aspect 'mood' has no question templates"), std::string::npos);
  EXPECT_NE(error_of({}, {"masp.emotion_question=Which emotion?"}).find("{labels}"), std::string::npos);
  EXPECT_NE(error_of({}, {"train.batch_size=0"}).find("must be positive"), std::string::npos);
}

TEST(Config, ResolvedConfigRoundTripsThroughYaml) {
  auto c = load_config({}, {"train.lr=0.125", "masp.aspects=[scene]", "data.labels=[a, b]"});
  auto text = config_to_yaml(c);
  EXPECT_NE(text.find("lr: 0.125"), std::string::npos) << text;
  EXPECT_NE(text.find("masp:"), std::string::npos) << text;
  auto path = write_yaml(text);
  auto again = load_config({path}, {});
  EXPECT_DOUBLE_EQ(again.train.lr, 0.125);
  EXPECT_EQ(again.data.labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(again.masp.questions.at("scene"), c.masp.questions.at("scene"));
  EXPECT_EQ(config_to_yaml(again), text);
}

}  // namespace
}  // namespace emotune

namespace emotune {
namespace {
// Hugging Face's names for training settings get emotune's, in a file and on --set alike (issue 28, finding 2).
TEST(Config, TrainingArgumentsNamesSuggestEmotunesOnBothPaths) {
  auto from_set = testing::config_error({}, {"train.learning_rate=0.1"});
  EXPECT_NE(from_set.find("--set: unknown config key 'train.learning_rate' (did you mean 'train.lr'?)"), std::string::npos) << from_set;
  auto file = testing::write_yaml("train:\n  num_train_epochs: 3\n  gradient_accumulation_steps: 2\n", "hf_names");
  auto from_file = testing::config_error({file}, {});
  EXPECT_NE(from_file.find(file + ":2: unknown config key 'train.num_train_epochs' (did you mean 'train.epochs'?)"), std::string::npos)
      << from_file;
  EXPECT_NE(testing::config_error({}, {"per_device_train_batch_size=4"}).find("did you mean 'train.batch_size'"), std::string::npos);
  EXPECT_EQ(testing::config_error({}, {"train.zzzzzzzzzzzz=1"}).find("did you mean"), std::string::npos) << "no near key, no guess";
}
}  // namespace
}  // namespace emotune
