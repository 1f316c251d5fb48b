#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "synth/affect_world.h"
#include "synth/image_stats.h"
#include "synth/world_dimensions.h"
#include "synth/world_aspects.h"
#include "test_support.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

using testing::aspects_of;

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
  for (std::string line; std::getline(in, line);) {
    auto p = emotion_distribution(aspects_of(nlohmann::json::parse(line)), o.sharpness);
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

// Valence and arousal (synth/world_dimensions.h): world.json's Bayes MSE is the mean of Var(d | a) recomputed here from
// its own centroids, slopes and noise; a rating's draws around E[d | a] have that variance (Monte Carlo).
TEST(AffectWorld, RatingsBayesMseMatchesTheTableAndMonteCarlo) {
  WorldOptions o = options(testing::scratch_dir("ratings"), 22);
  o.images = 200, o.size = 32;
  auto summary = synthesize_world(o);
  auto world = nlohmann::json::parse(read_file(fs::path(summary.manifest).parent_path().string() + "/world.json"))["dimensions"];
  const std::vector<std::string> names{"valence", "arousal"}, drivers{"brightness", "colorfulness"};
  const double noise = world["noise_sd"].get<double>();
  std::map<std::string, std::map<std::string, double>> sum_var, sum_residual;
  std::map<std::string, int64_t> count;
  std::ifstream in(summary.manifest);
  for (std::string line; std::getline(in, line);) {
    auto row = nlohmann::json::parse(line);
    auto p = emotion_distribution(aspects_of(row), o.sharpness);
    const auto split = row["split"].get<std::string>();
    ++count[split];
    for (size_t d = 0; d < 2; ++d) {
      auto c = world["centroids"][names[d]].get<std::vector<double>>();
      double mean = 0, second = 0;
      for (size_t e = 0; e < p.size(); ++e) mean += p[e] * c[e], second += p[e] * c[e] * c[e];
      const double expected = mean + world["slopes"][names[d]].get<double>() * (row["aspects"][drivers[d]].get<double>() - 0.5);
      sum_var[split][names[d]] += second - mean * mean + noise * noise;
      sum_residual[split][names[d]] += std::pow(row["dimensions"][names[d]].get<double>() - expected, 2);
    }
  }
  for (const auto& [split, n] : count)
    for (const auto& name : names) {
      const double bayes = world["splits"][split][name]["bayes_mse"].get<double>();
      EXPECT_NEAR(bayes, sum_var[split][name] / static_cast<double>(n), 1e-9) << split << " " << name;
      if (n >= 100) {
        EXPECT_NEAR(sum_residual[split][name] / static_cast<double>(n), bayes, 0.3 * bayes) << split << " " << name;
      }
    }
  // 20,000 draws of one image's rating (labels from p): their mean is E[d | a], their variance Var(d | a).
  WorldAspects a;
  a.brightness = 0.8, a.colorfulness = 0.3;
  const std::vector<double> p{0.4, 0.1, 0.1, 0.1, 0.2, 0.05, 0.05, 0.0};
  std::mt19937_64 rng(7);
  std::discrete_distribution<size_t> label(p.begin(), p.end());
  for (size_t d = 0; d < 2; ++d) {
    double sum = 0, sum_sq = 0, variance = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      auto r = draw_world_ratings(3, i, label(rng), p, a);
      sum += r.values[d], sum_sq += r.values[d] * r.values[d], variance = r.bayes_variance[d];
    }
    const double mean = sum / n;
    EXPECT_NEAR(sum_sq / n - mean * mean, variance, 0.03 * variance) << names[d];
  }
}

// No single aspect decides the label: whichever value one aspect takes (a face or a person included), the most
// likely emotion still changes with the other aspects.
TEST(AffectWorld, NoSingleAspectDecides) {
  const std::vector<double> levels{0.1, 0.3, 0.5, 0.7, 0.9};
  const char* names[] = {"scene", "object", "facial expression", "human action", "brightness", "colorfulness"};
  // argmaxes[aspect][value] = the set of most likely emotions over all settings of the other aspects
  // (expression and action: index 0 is "none").
  std::vector<std::vector<std::set<size_t>>> argmaxes{
      std::vector<std::set<size_t>>(6), std::vector<std::set<size_t>>(6), std::vector<std::set<size_t>>(7),
      std::vector<std::set<size_t>>(6), std::vector<std::set<size_t>>(5), std::vector<std::set<size_t>>(5)};
  WorldAspects w;
  w.objects = {0};
  for (w.scene = 0; w.scene < 6; ++w.scene)
    for (w.objects[0] = 0; w.objects[0] < 6; ++w.objects[0])
      for (w.expression = -1; w.expression < 6; ++w.expression)
        for (w.action = -1; w.action < 5; ++w.action)
          for (size_t b = 0; b < 5; ++b)
            for (size_t c = 0; c < 5; ++c) {
              w.brightness = levels[b], w.colorfulness = levels[c];
              auto p = emotion_distribution(w, 2.5);
              auto best = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
              const size_t value[] = {static_cast<size_t>(w.scene), static_cast<size_t>(w.objects[0]),
                                      static_cast<size_t>(w.expression + 1), static_cast<size_t>(w.action + 1), b, c};
              for (size_t a = 0; a < 6; ++a) argmaxes[a][value[a]].insert(best);
            }
  for (size_t a = 0; a < 6; ++a)
    for (size_t v = 0; v < argmaxes[a].size(); ++v)
      EXPECT_GE(argmaxes[a][v].size(), 2u) << names[a] << " value " << v << " alone fixes the most likely emotion";
}

// All six MASP aspects are under control: faces and people appear in about the configured share of images,
// with every value, and are annotated the way EmoSet is (left out when absent); the drawing changes pixels.
TEST(AffectWorld, DrawsFacesAndHumanActions) {
  WorldOptions o = options(testing::scratch_dir("w"), 13);
  o.images = 200;
  auto summary = synthesize_world(o);
  std::ifstream in(summary.manifest);
  std::set<std::string> expressions, actions;
  int faces = 0, people = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["aspects"].contains("facial_expression")) ++faces, expressions.insert(j["aspects"]["facial_expression"]);
    if (j["aspects"].contains("human_action")) ++people, actions.insert(j["aspects"]["human_action"]);
  }
  EXPECT_NEAR(faces / 200.0, o.face_probability, 0.1);
  EXPECT_NEAR(people / 200.0, o.action_probability, 0.1);
  EXPECT_EQ(expressions.size(), world_expressions().size());
  EXPECT_EQ(actions.size(), world_actions().size());
  // Without faces and people the same seed draws the same scenes and objects, but other pixels.
  WorldOptions bare = o;
  bare.out_dir = testing::scratch_dir("bare");
  bare.face_probability = bare.action_probability = 0;
  bare.images = 20;
  o.images = 20;
  o.out_dir = testing::scratch_dir("full");
  synthesize_world(o);
  synthesize_world(bare);
  std::ifstream a(o.out_dir + "/manifest.jsonl"), b(bare.out_dir + "/manifest.jsonl");
  int differing = 0, with_face_or_person = 0;
  for (std::string la, lb; std::getline(a, la) && std::getline(b, lb);) {
    auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    const bool shown = ja["aspects"].contains("facial_expression") || ja["aspects"].contains("human_action");
    EXPECT_FALSE(jb["aspects"].contains("facial_expression") || jb["aspects"].contains("human_action"));
    EXPECT_EQ(ja["aspects"]["scene"], jb["aspects"]["scene"]);
    cv::Mat ia = cv::imread(o.out_dir + "/" + ja["image"].get<std::string>()), ib = cv::imread(bare.out_dir + "/" + jb["image"].get<std::string>());
    const double diff = cv::norm(ia, ib, cv::NORM_L1) / static_cast<double>(ia.total());
    with_face_or_person += shown;
    if (shown) differing += diff > 1.0;
  }
  EXPECT_GT(with_face_or_person, 0);
  EXPECT_EQ(differing, with_face_or_person) << "a face or a person must change the picture";
}

}  // namespace
}  // namespace emotune
