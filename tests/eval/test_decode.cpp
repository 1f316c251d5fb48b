#include "eval/decode.h"
#include "test_support.h"

namespace emotune {
namespace {

TEST(AspectAnswerMatches, ListsMatchInAnyOrderAndNothingElseDoes) {
  EXPECT_TRUE(aspect_answer_matches(" Beach \nmore text", "beach"));
  EXPECT_TRUE(aspect_answer_matches("gift, balloon", "balloon, gift"));
  EXPECT_TRUE(aspect_answer_matches("balloon ,gift", "balloon, gift"));
  EXPECT_FALSE(aspect_answer_matches("balloon", "balloon, gift"));            // one item missing
  EXPECT_FALSE(aspect_answer_matches("balloon, gift, knife", "balloon, gift"));  // one too many
  EXPECT_FALSE(aspect_answer_matches("balloon, balloon", "balloon"));         // items count
  EXPECT_FALSE(aspect_answer_matches("night", "night street"));
  EXPECT_FALSE(aspect_answer_matches("", "beach"));
}

}  // namespace
}  // namespace emotune
