// Typed per-stage sections (ablation.stage1 / stage2: ConfigOverlay) and enum-valued keys (config/modes.h).
#include <fstream>

#include "config/config.h"
#include "core/error.h"
#include "test_support.h"

namespace emotune {
namespace {

std::string write_yaml(const std::string& text) { return testing::write_yaml(text, "sections"); }
std::string error_of(const std::vector<std::string>& files, const std::vector<std::string>& overrides = {}) {
  return testing::config_error(files, overrides);
}

// A stage's config is the loaded config with its section on top: exactly what appending the section's keys
// to the --set overrides gives (how stages were configured before sections existed).
TEST(ConfigSections, AStageSectionActsAsOverridesAfterTheCommandLine) {
  auto path = write_yaml("train:\n  lr: 0.5\nablation:\n  stage1: {train: {lr: 0.0003, epochs: 1}}\n  stage2:\n    train.lr: 0.1\n");
  auto base = load_config({path}, {"train.lr=0.25", "seed=9"});
  EXPECT_DOUBLE_EQ(base.train.lr, 0.25) << "a section does not touch the config it belongs to";
  auto stage1 = with_overlay(base, base.ablation.stage1);
  EXPECT_DOUBLE_EQ(stage1.train.lr, 0.0003);
  EXPECT_EQ(stage1.train.epochs, 1);
  EXPECT_EQ(stage1.seed, 9);
  EXPECT_EQ(config_to_yaml(stage1), config_to_yaml(load_config({path}, {"train.lr=0.25", "seed=9", "train.lr=0.0003", "train.epochs=1"})));
  EXPECT_DOUBLE_EQ(with_overlay(base, base.ablation.stage2).train.lr, 0.1) << "dotted keys inside a section";
}

TEST(ConfigSections, SetReachesIntoASectionAndLaterLayersWin) {
  auto path = write_yaml("ablation:\n  stage2: {train: {lr: 0.1, epochs: 10}}\n");
  auto c = load_config({path}, {"ablation.stage2.train.epochs=3", "ablation.stage1={masp.use_aspects: false}"});
  auto stage2 = with_overlay(c, c.ablation.stage2);
  EXPECT_DOUBLE_EQ(stage2.train.lr, 0.1);
  EXPECT_EQ(stage2.train.epochs, 3);
  EXPECT_FALSE(with_overlay(c, c.ablation.stage1).masp.use_aspects);
  EXPECT_TRUE(c.masp.use_aspects);
}

TEST(ConfigSections, AWrongKeyInASectionNamesFileLineSectionAndSuggestion) {
  auto path = write_yaml("seed: 1\nablation:\n  stage1:\n    train:\n      lrr: 0.1\n");
  auto msg = error_of({path});
  EXPECT_NE(msg.find(path + ":5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown config key 'train.lrr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'train.lr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ablation.stage1"), std::string::npos) << msg;
  auto type = error_of({}, {"ablation.stage2.train.epochs=ten"});
  EXPECT_NE(type.find("'train.epochs' expects an integer, got 'ten'"), std::string::npos) << type;
  auto not_map = error_of({write_yaml("ablation:\n  stage1: [train.lr=1]\n")});
  EXPECT_NE(not_map.find("expects a map of config keys"), std::string::npos) << not_map;
}

TEST(ConfigSections, TheOldStringListsAreRefusedWithTheSectionToWrite) {
  auto path = write_yaml("ablation:\n  stage1_set: [train.lr=0.0003, train.epochs=1]\n");
  auto msg = error_of({path});
  EXPECT_NE(msg.find(path + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ablation.stage1: {train.lr: 0.0003, train.epochs: 1}"), std::string::npos) << msg;
  // The hint is itself a valid config line.
  auto c = load_config({write_yaml("ablation.stage1: {train.lr: 0.0003, train.epochs: 1}\n")}, {});
  EXPECT_EQ(with_overlay(c, c.ablation.stage1).train.epochs, 1);
}

TEST(ConfigSections, SectionsRoundTripThroughTheStoredYaml) {
  auto c = load_config({write_yaml("ablation:\n  stage1: {train: {lr: 0.0003}, masp.questions: {scene: [\"Where was it taken?\"]}}\n")},
                       {"ablation.stage1.train.epochs=2"});
  auto text = config_to_yaml(c);
  auto again = load_config({write_yaml(text)}, {});
  EXPECT_EQ(config_to_yaml(again), text);
  auto stage = with_overlay(again, again.ablation.stage1);
  EXPECT_DOUBLE_EQ(stage.train.lr, 0.0003);
  EXPECT_EQ(stage.train.epochs, 2);
  EXPECT_EQ(stage.masp.questions.at("scene"), (std::vector<std::string>{"Where was it taken?"}));
}

// load_config drops the built-in templates of unused aspects; a section that adds an aspect gets them back.
TEST(ConfigSections, ASectionMayAddAnAspectWithBuiltInQuestions) {
  auto c = load_config({}, {"masp.aspects=[scene]"});
  ConfigOverlay more;
  more.set("masp.aspects", "[scene, object]");
  auto stage = with_overlay(c, more);
  EXPECT_EQ(stage.masp.questions.count("object"), 1u);
  EXPECT_EQ(stage.masp.questions.at("object"), default_aspect_questions().at("object"));
  EXPECT_EQ(with_overlay(stage, ConfigOverlay().set("masp.aspects", "[scene]")).masp.questions.size(), 1u);
}

TEST(ConfigModes, EnumKeysTakeTheirNamesAndRefuseOthersWithASuggestion) {
  auto c = load_config({write_yaml("eval:\n  mode: generate\nmasp:\n  label_list_style: python\n")}, {"vlm.positions=mrope"});
  EXPECT_EQ(c.eval.mode, EvalMode::Generate);
  EXPECT_EQ(c.masp.label_list_style, LabelListStyle::Python);
  EXPECT_EQ(c.vlm.positions, PositionMode::Mrope);
  EXPECT_EQ(c.masp.prompt_placement, PromptPlacement::Paper);
  auto msg = error_of({}, {"eval.mode=rnak"});
  EXPECT_NE(msg.find("expects one of rank|generate, got 'rnak'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'rank'"), std::string::npos) << msg;
  EXPECT_NE(config_to_yaml(c).find("mode: generate"), std::string::npos);
  for (auto m : {EvalMode::Rank, EvalMode::Generate}) EXPECT_EQ(enum_from_name<EvalMode>(name_of(m)), m);
}

// SEPM's keys (docs/sepm.md): the paper's defaults, the code's switches by name, and a drop rate outside [0, 1).
TEST(ConfigModes, SepmKeysDefaultToThePaperAndRefuseADropRateOutsideItsRange) {
  auto c = load_config({}, {});
  EXPECT_EQ(c.eval.inference, Inference::Plain);
  EXPECT_DOUBLE_EQ(c.sepm.alpha, 0.1);
  EXPECT_DOUBLE_EQ(c.sepm.beta, 0.2);
  EXPECT_EQ(c.sepm.variance, SepmVariance::Paper);
  c = load_config({write_yaml("eval:\n  inference: sepm\nsepm:\n  beta: 0.1\n  variance: code\n  drop_over: visual_and_aspects\n")}, {});
  EXPECT_EQ(c.eval.inference, Inference::Sepm);
  EXPECT_EQ(c.sepm.variance, SepmVariance::Code);
  EXPECT_EQ(c.sepm.drop_over, SepmDropOver::VisualAndAspects);
  auto msg = error_of({}, {"sepm.beta=1"});
  EXPECT_NE(msg.find("config key 'sepm.beta' must be in [0, 1), got 1"), std::string::npos) << msg;
  msg = error_of({}, {"eval.inference=sepn"});
  EXPECT_NE(msg.find("did you mean 'sepm'"), std::string::npos) << msg;
}

}  // namespace
}  // namespace emotune
