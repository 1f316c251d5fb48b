// The sequence world (synth/world_sequences.h): the chain's posteriors against a hand computation, and a rendered
// world whose sequences the manifest reads back, with the context's room in world.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "data/manifest.h"
#include "synth/affect_world.h"
#include "synth/world_sequences.h"
#include "test_support.h"

namespace emotune {
namespace {

TEST(WorldSequences, ChainPosteriorsEqualAHandComputation) {
  // Two labels with marginal m = (0.3, 0.7), two items, inertia 0.6: T = 0.6·I + 0.4·1·mᵀ, and
  // p(e1, e2) = m(e1) · T[e1][e2] · b1(e1) · b2(e2).
  const std::vector<std::vector<double>> b{{0.9, 0.1}, {0.4, 0.6}};
  const std::vector<double> m{0.3, 0.7};
  const double T[2][2] = {{0.6 + 0.4 * 0.3, 0.4 * 0.7}, {0.4 * 0.3, 0.6 + 0.4 * 0.7}};
  double joint[2][2], z = 0;
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 2; ++y) z += joint[x][y] = m[static_cast<size_t>(x)] * T[x][y] * b[0][static_cast<size_t>(x)] * b[1][static_cast<size_t>(y)];
  auto g = chain_posteriors(b, 0.6, m);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_NEAR(g[0][0], (joint[0][0] + joint[0][1]) / z, 1e-12);
  EXPECT_NEAR(g[1][0], (joint[0][0] + joint[1][0]) / z, 1e-12);
  EXPECT_NEAR(g[1][0] + g[1][1], 1.0, 1e-12);
  // Without inertia the items are independent: each posterior is m · b, normalised.
  auto independent = chain_posteriors(b, 0.0, m);
  EXPECT_NEAR(independent[1][1], 0.7 * 0.6 / (0.3 * 0.4 + 0.7 * 0.6), 1e-12);
}

TEST(WorldSequences, ARenderedWorldHasSequencesTheManifestReadsAndMoreRoomWithInertia) {
  WorldOptions o;
  o.out_dir = testing::scratch_dir("seqworld");
  o.images = 1200, o.size = 32, o.seed = 4;
  o.sequences = {12, 6, 0.9, 0};
  auto summary = synthesize_world(o);
  ASSERT_EQ(summary.sequences.size(), 3u);
  int64_t sequences = 0;
  for (const auto& s : summary.sequences) {
    sequences += s.sequences;
    EXPECT_EQ(s.items, 6 * s.sequences);
    if (s.items == 0) continue;
    EXPECT_GT(s.bayes_sequence, s.bayes_context_free + 0.05) << s.name << ": inertia 0.9 leaves room";
  }
  EXPECT_EQ(sequences, 12);
  auto m = load_manifest(summary.manifest);  // positions 0..5 once each, one split per sequence: else it throws
  std::map<std::string, std::vector<std::string>> labels;
  for (const auto& row : m.rows)
    if (!row.sequence.empty()) labels[row.sequence].resize(6), labels[row.sequence][static_cast<size_t>(row.position)] = row.label;
  EXPECT_EQ(labels.size(), 12u);
  int64_t same = 0, steps = 0;
  for (const auto& [id, seq] : labels)
    for (size_t j = 1; j < seq.size(); ++j) same += seq[j] == seq[j - 1], ++steps;
  EXPECT_GT(static_cast<double>(same) / static_cast<double>(steps), 0.75) << "inertia 0.9: most steps keep the label";
  auto world = nlohmann::json::parse(read_file(o.out_dir + "/world.json"));
  EXPECT_EQ(world["sequences"]["length"], 6);
  EXPECT_TRUE(world["sequences"]["splits"]["test"].contains("bayes_sequence"));
  o.sequences.sequences = 400;  // 2,400 items from 1,200 images: refused, naming the split and the label
  auto message = testing::error_message([&] { synthesize_world(o); });
  EXPECT_NE(message.find("render more --images or ask for fewer --sequences"), std::string::npos) << message;
}

}  // namespace
}  // namespace emotune
