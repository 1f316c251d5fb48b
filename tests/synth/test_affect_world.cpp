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

int index_in(const std::vector<std::string>& names, const nlohmann::json& value) {
  auto it = std::find(names.begin(), names.end(), value.get<std::string>());
  EXPECT_NE(it, names.end()) << value;
  return static_cast<int>(it - names.begin());
}

// The manifest row's annotation read back into the generator's indices.
WorldAspects aspects_of(const nlohmann::json& row) {
  const auto& a = row["aspects"];
  WorldAspects w;
  w.scene = index_in(world_scenes(), a["scene"]);
  for (const auto& ob : a["object"]) w.objects.push_back(index_in(world_objects(), ob));
  if (a.contains("facial_expression")) w.expression = index_in(world_expressions(), a["facial_expression"]);
  if (a.contains("human_action")) w.action = index_in(world_actions(), a["human_action"]);
  w.brightness = a["brightness"], w.colorfulness = a["colorfulness"];
  return w;
}

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
