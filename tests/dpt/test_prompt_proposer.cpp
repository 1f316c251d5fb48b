// Discrete prompt tuning's proposers and answer parsing (dpt/prompt_proposer.h, dpt/discrete_tuner.h).
#include <gtest/gtest.h>

#include "llm/call_cache.h"
#include "llm/call_meter.h"
#include "dpt/discrete_tuner.h"
#include "dpt/prompt_proposer.h"
#include "dpt/prompt_target.h"
#include "test_support.h"

namespace emotune {
namespace {

TEST(DiscretePrompts, MajorityVoteBreaksTiesByRank) {
  EXPECT_EQ(majority_vote({2, 1, 1, 3, 2}), 2);   // 2 and 1 tie; the best prompt said 2
  EXPECT_EQ(majority_vote({0, 1, 1, 3, 2}), 1);
  EXPECT_EQ(majority_vote({-1, 4, -1}), 4);       // no label: abstains
  EXPECT_EQ(majority_vote({-1, -1}), -1);
}

TEST(DiscretePrompts, ParsesProposalsAndLabelsInAnswers) {
  EXPECT_EQ(parse_proposals("Sure! [\"A b.\", \"C d?\"] hope this helps"), (std::vector<std::string>{"A b.", "C d?"}));
  EXPECT_EQ(parse_proposals("1. First one\n2) Second one\n\n- Third"), (std::vector<std::string>{"First one", "Second one", "Third"}));
  const std::vector<std::string> labels{"amusement", "awe", "fear", "sadness"};
  EXPECT_EQ(label_in_answer("Awe.", labels), 1);
  EXPECT_EQ(label_in_answer("I think fear, maybe awe", labels), 2);
  EXPECT_EQ(label_in_answer("awesome", labels), -1);  // whole words only
  EXPECT_EQ(render_target_prompt("How?", "Answer with one of: {labels}.", {"a", "b"}), "How? Answer with one of: a, b.");
}

TEST(DiscretePrompts, EvolutionaryProposerIsDeterministicAndAvoidsPoorPrompts) {
  auto c = load_config({}, {});
  CallCache cache(testing::scratch_dir("cache") + "/calls.jsonl");
  CallMeter meter(cache, {c.dpt.budget_usd, c.dpt.budget_tokens, c.dpt.stop_after_calls, "dpt"});
  auto p1 = make_prompt_proposer(c, meter), p2 = make_prompt_proposer(c, meter);
  ProposalStep at{"u01", 1, 0, -1};
  auto a = p1->initial(6, at), b = p2->initial(6, at);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  std::vector<ScoredPrompt> best{{0, a[0], 0.9}, {1, a[1], 0.8}}, worst{{2, a[2], 0.1}};
  auto kids = p1->modify(best, worst, 5, {"u01", 1, 0, 3});
  EXPECT_EQ(kids.size(), 5u);
  for (const auto& k : kids) EXPECT_TRUE(k != a[0] && k != a[1] && k != a[2]) << k;
  EXPECT_EQ(kids, p2->modify(best, worst, 5, {"u01", 1, 0, 3}));
}

}  // namespace
}  // namespace emotune
