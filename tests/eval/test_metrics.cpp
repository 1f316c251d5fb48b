#include "eval/metrics.h"
#include "test_support.h"

namespace emotune {
namespace {

TEST(Metrics, PerClassF1MacroF1AndWheelMetricsByHand) {
  // labels: amusement, excitement, sadness; one answer matched no label (-1).
  std::vector<int64_t> gold{0, 0, 1, 1, 2, 2}, pred{0, 1, 1, 2, 2, -1};
  auto m = compute_metrics(gold, pred, 3, {"amusement", "excitement", "sadness"});
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m.class_precision[0], 1.0);
  EXPECT_DOUBLE_EQ(m.class_precision[1], 0.5);
  EXPECT_DOUBLE_EQ(m.class_accuracy[2], 0.5);
  EXPECT_NEAR(m.class_f1[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.macro_f1, (2.0 / 3.0 + 0.5 + 0.5) / 3.0, 1e-12);
  EXPECT_EQ(m.confusion[2][3], 1);  // the unmatched answer
  ASSERT_TRUE(m.wheel.has_value());
  // distances: 0, 1 (amusement->excitement), 0, 4 (excitement->sadness), 0, 4 (unmatched)
  EXPECT_DOUBLE_EQ(m.wheel->mean_distance, 9.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.wheel->ecc, (1 + 0.75 + 1 + 0 + 1 + 0) / 6.0);
  EXPECT_DOUBLE_EQ(m.wheel->emc, (0.25 + 1 + 1) / 3.0);
  EXPECT_DOUBLE_EQ(m.wheel->polarity_accuracy, 4.0 / 6.0);
}

TEST(Metrics, NeighbouringMistakesCostLessThanOppositeOnes) {
  auto wheel = EmotionWheel::mikels();
  auto d = [&](const char* a, const char* b) { return wheel.distance(wheel.position(a), wheel.position(b)); };
  EXPECT_EQ(d("excitement", "amusement"), 1);
  EXPECT_GT(d("excitement", "sadness"), d("excitement", "amusement"));
  EXPECT_EQ(d("sad", "sadness"), 0);  // label spellings of the benchmarks are accepted
  for (const auto& a : wheel.order)
    for (const auto& b : wheel.order) EXPECT_EQ(d(a.c_str(), b.c_str()), d(b.c_str(), a.c_str()));
  auto near = compute_metrics({0, 0}, {1, 1}, 8, wheel.order), far = compute_metrics({0, 0}, {4, 4}, 8, wheel.order);
  EXPECT_EQ(near.accuracy, far.accuracy);
  EXPECT_GT(near.wheel->ecc, far.wheel->ecc);
  EXPECT_LT(near.wheel->emc, far.wheel->emc);
}

TEST(Metrics, LabelsOffTheWheelHaveNoWheelMetrics) {
  auto m = compute_metrics({0, 1}, {0, 0}, 2, {"positive", "negative"});
  EXPECT_FALSE(m.wheel.has_value());
  EXPECT_FALSE(m.to_json({"positive", "negative"}).contains("emotion_wheel"));
  EXPECT_DOUBLE_EQ(m.macro_f1, (2.0 / 3.0 + 0.0) / 2.0);
}

}  // namespace
}  // namespace emotune
