// world.json as the upper floors read it (data/world_facts.h), checked against what `emotune synth` writes.
#include <fstream>

#include "core/error.h"
#include "data/world_facts.h"
#include "synth/affect_world.h"
#include "test_support.h"

namespace emotune {
namespace {

TEST(WorldFacts, ReadsSplitAndUserLimitsOfASynthesisedWorld) {
  WorldOptions o;
  o.out_dir = testing::scratch_dir("world"), o.images = 60, o.users = 3, o.seed = 5;
  auto summary = synthesize_world(o);
  auto facts = read_world_facts(summary.manifest);
  for (const auto& split : summary.splits) {
    ASSERT_TRUE(facts.split_bayes(split.name)) << split.name;
    EXPECT_DOUBLE_EQ(*facts.split_bayes(split.name), split.bayes_accuracy);
  }
  EXPECT_FALSE(facts.split_bayes("no-such-split"));
  for (const auto& u : summary.users) {
    auto limits = facts.user_limits(u.id, "test");
    ASSERT_TRUE(limits) << u.id;
    EXPECT_GE(limits->bayes, limits->global_rule);
  }
  EXPECT_FALSE(facts.user_limits("nobody", "test"));
}

TEST(WorldFacts, NoWorldJsonIsNoFactsAndABrokenOneIsAnError) {
  const auto dir = testing::scratch_dir("plain");
  EXPECT_FALSE(read_world_facts(dir + "/manifest.jsonl").split_bayes("test"));
  std::ofstream(dir + "/world.json") << "{\"splits\": {\"test\": {\"bayes_accuracy\": \"high\"}}}";
  try {
    read_world_facts(dir + "/manifest.jsonl");
    FAIL() << "a malformed world.json was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/world.json: splits.test: expected a number 'bayes_accuracy'"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/world.json") << "not json";
  EXPECT_THROW(read_world_facts(dir + "/manifest.jsonl"), Error);
}

}  // namespace
}  // namespace emotune
