#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "synth/affect_world.h"
#include "synth/image_stats.h"
#include "test_support.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

WorldOptions options(const std::string& dir, uint64_t seed) {
  WorldOptions o;
  o.out_dir = dir;
  o.images = 40;
  o.seed = seed;
  return o;
}

TEST(AffectWorld, SameSeedGivesIdenticalFiles) {
  auto a = testing::scratch_dir("a"), b = testing::scratch_dir("b"), c = testing::scratch_dir("c");
  synthesize_world(options(a, 3));
  synthesize_world(options(b, 3));
  synthesize_world(options(c, 4));
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    auto rel = fs::relative(entry.path(), a);
    ASSERT_TRUE(fs::exists(fs::path(b) / rel)) << rel;
    EXPECT_EQ(read_file(entry.path().string()), read_file((fs::path(b) / rel).string())) << rel;
    ++files;
  }
  EXPECT_EQ(files, 2u * 40u + 6u) << "images, annotations, manifest, world.json, 3 split files, info.json";
  EXPECT_NE(read_file(a + "/manifest.jsonl"), read_file(c + "/manifest.jsonl")) << "another seed, another world";
}

TEST(AffectWorld, AnnotatedBrightnessAndColorfulnessAreMeasuredOnTheStoredPixels) {
  auto dir = testing::scratch_dir("w");
  synthesize_world(options(dir, 8));
  std::ifstream in(dir + "/manifest.jsonl");
  int rows = 0;
  std::set<double> brightness_seen;
  for (std::string line; std::getline(in, line); ++rows) {
    auto j = nlohmann::json::parse(line);
    cv::Mat img = cv::imread(dir + "/" + j["image"].get<std::string>(), cv::IMREAD_COLOR);
    double b = j["aspects"]["brightness"], c = j["aspects"]["colorfulness"];
    EXPECT_DOUBLE_EQ(round_to_tenth(measure_brightness(img)), b) << line;
    EXPECT_DOUBLE_EQ(round_to_tenth(measure_colorfulness(img)), c) << line;
    brightness_seen.insert(b);
  }
  EXPECT_EQ(rows, 40);
  EXPECT_GE(brightness_seen.size(), 4u) << "lighting should spread brightness over several bins";
}

TEST(ImageStats, FormulasOnKnownImages) {
  cv::Mat gray(10, 10, CV_8UC3, cv::Scalar(51, 51, 51));
  EXPECT_NEAR(measure_brightness(gray), 0.2, 1e-9);
  EXPECT_NEAR(measure_colorfulness(gray), 0.0, 1e-9);
  cv::Mat red(10, 10, CV_8UC3, cv::Scalar(0, 0, 255));
  // rg = 255, yb = 127.5, no spread: M = 0.3 * sqrt(255² + 127.5²) = 85.53 → 0.570.
  EXPECT_NEAR(measure_colorfulness(red), 0.3 * std::sqrt(255.0 * 255.0 + 127.5 * 127.5) / 150.0, 1e-9);
}

// The Bayes limit written with a split is E[max_e p(e | aspects)]; labels drawn from the same table must be
// predicted by the argmax rule at that rate.
TEST(AffectWorld, BayesLimitMatchesMonteCarlo) {
  WorldOptions o = options(testing::scratch_dir("w"), 21);
  o.images = 400;
  auto summary = synthesize_world(o);
  std::ifstream in(summary.manifest);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  double expected = 0, hits = 0;
  int draws = 0;
  const auto& scenes = world_scenes();
  const auto& objects = world_objects();
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    int scene = static_cast<int>(std::find(scenes.begin(), scenes.end(), j["aspects"]["scene"].get<std::string>()) - scenes.begin());
    std::vector<int> objs;
    for (const auto& ob : j["aspects"]["object"]) objs.push_back(static_cast<int>(std::find(objects.begin(), objects.end(), ob.get<std::string>()) - objects.begin()));
    auto p = emotion_distribution(scene, objs, j["aspects"]["brightness"], j["aspects"]["colorfulness"], o.sharpness);
    size_t best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    expected += p[best];
    for (int k = 0; k < 50; ++k, ++draws) {
      double r = u(rng), acc = 0;
      size_t label = p.size() - 1;
      for (size_t e = 0; e < p.size(); ++e)
        if ((acc += p[e]) > r) { label = e; break; }
      hits += label == best;
    }
  }
  double total_bayes = 0;
  int64_t n = 0;
  for (const auto& s : summary.splits) total_bayes += s.bayes_accuracy * static_cast<double>(s.images), n += s.images;
  EXPECT_NEAR(expected / 400.0, total_bayes / static_cast<double>(n), 1e-9);
  EXPECT_NEAR(hits / draws, total_bayes / static_cast<double>(n), 0.01);  // 20,000 draws: s.e. ≈ 0.0035
  EXPECT_LT(total_bayes / static_cast<double>(n), 0.9) << "some label noise must remain";
}

// No single aspect decides the label: whichever value one aspect takes, the most likely emotion still
// changes with the other aspects.
TEST(AffectWorld, NoSingleAspectDecides) {
  const std::vector<double> levels{0.1, 0.3, 0.5, 0.7, 0.9};
  // argmaxes[aspect][value] = the set of most likely emotions over all settings of the other aspects.
  std::vector<std::vector<std::set<size_t>>> argmaxes{std::vector<std::set<size_t>>(6), std::vector<std::set<size_t>>(6),
                                                      std::vector<std::set<size_t>>(5), std::vector<std::set<size_t>>(5)};
  for (int scene = 0; scene < 6; ++scene)
    for (int obj = 0; obj < 6; ++obj)
      for (size_t b = 0; b < 5; ++b)
        for (size_t c = 0; c < 5; ++c) {
          auto p = emotion_distribution(scene, {obj}, levels[b], levels[c], 1.6);
          auto best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
          argmaxes[0][static_cast<size_t>(scene)].insert(best);
          argmaxes[1][static_cast<size_t>(obj)].insert(best);
          argmaxes[2][b].insert(best);
          argmaxes[3][c].insert(best);
        }
  const char* names[] = {"scene", "object", "brightness", "colorfulness"};
  for (size_t a = 0; a < 4; ++a)
    for (size_t v = 0; v < argmaxes[a].size(); ++v)
      EXPECT_GE(argmaxes[a][v].size(), 2u) << names[a] << " value " << v << " alone fixes the most likely emotion";
}

}  // namespace
}  // namespace emotune
