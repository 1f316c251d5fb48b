// `emotune refine` on the sequence world (synth --sequences) with emotune's own vanilla model (the tiny bundle, zero-shot)
// and scripted refiners on loopback, through the real HTTP client: one that sees the sequence's labels with noise beats
// the vanilla model; one that answers noise does not pull the fitted fusion below it. The same two over the world's own
// context-free Bayes classifier as the vanilla model: noise leaves it within a point, the informative one lifts it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <regex>

#include "core/atomic_file.h"
#include "core/rng.h"
#include "data/manifest.h"
#include "llm/loopback_server.h"
#include "recipes/lantern_refine.h"
#include "synth/affect_world.h"
#include "synth/world_aspects.h"
#include "test_support.h"

namespace emotune {
namespace {
using testing::completion;
using testing::LoopbackServer;

// The refiner reads which album and which positions a field covers from the prompt's first line ("images 3 to 6 of the
// 8 of album \"seq_000012\""), then answers for each item: informative, 0.7 on its label 80 % of the time (else on a
// random label); otherwise a random distribution.
LoopbackServer::Handler album_refiner(const std::map<std::pair<std::string, int64_t>, std::string>& gold,
                                      const std::vector<std::string>& labels, bool informative) {
  return [&gold, &labels, informative](int64_t, const httplib::Request& req, httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body);
    const auto user = body["messages"][1]["content"].get<std::string>();
    std::smatch header;
    ASSERT_TRUE(std::regex_search(user, header, std::regex("images (\\d+) to (\\d+) of the \\d+ of album \"([^\"]+)\""))) << user;
    const int64_t first = std::stoll(header[1].str()), last = std::stoll(header[2].str());
    std::mt19937_64 rng(string_seed(req.body));
    nlohmann::json items = nlohmann::json::array();
    for (int64_t pos = first; pos <= last; ++pos) {
      nlohmann::json probs = nlohmann::json::object();
      const auto truth = gold.at({header[3].str(), pos - 1});
      const auto pick = rng() % 5 < 4 ? truth : labels[rng() % labels.size()];
      for (const auto& l : labels) probs[l] = informative ? (l == pick ? 0.7 : 0.3 / static_cast<double>(labels.size() - 1))
                                                          : std::exponential_distribution<double>(1.0)(rng);
      items.push_back({{"index", pos - first + 1}, {"probabilities", probs}});
    }
    res.set_content(completion(nlohmann::json{{"items", items}}.dump()), "application/json");
  };
}

// The vanilla file of the world's own context-free Bayes classifier: p(e | aspects) of every image in a sequence.
std::string write_bayes_vanilla(const std::string& manifest, double sharpness, const std::string& path) {
  std::string lines;
  std::ifstream in(manifest);
  for (std::string text; std::getline(in, text);) {
    auto row = nlohmann::json::parse(text);
    if (!row.contains("sequence")) continue;
    auto p = emotion_distribution(testing::aspects_of(row), sharpness);
    nlohmann::json probabilities = nlohmann::json::object();
    for (size_t e = 0; e < p.size(); ++e) probabilities[world_emotions()[e]] = p[e];
    lines += nlohmann::json{{"sequence", row["sequence"]}, {"index", row["position"]}, {"split", row["split"]}, {"gold", row["label"]},
                            {"probabilities", probabilities}}.dump() + "\n";
  }
  write_file_atomic(path, lines);
  return path;
}

TEST(LanternRefine, OnTheSequenceWorldWithEmotunesOwnVanillaModel) {
  auto dir = testing::scratch_dir("lantern-world");
  WorldOptions o;
  o.out_dir = dir + "/world";
  o.images = 2500, o.size = 32, o.seed = 6;
  o.sequences = {120, 8, 0.9, 0};
  auto world = synthesize_world(o);
  std::map<std::pair<std::string, int64_t>, std::string> gold;
  for (const auto& row : load_manifest(world.manifest).rows)
    if (!row.sequence.empty()) gold[{row.sequence, row.position}] = row.label;
  auto config = [&](const std::string& run, const std::string& url) {
    auto c = testing::small_config(world.manifest, dir + "/" + run);
    c.lantern.item = "image", c.lantern.sequence = "album";
    c.lantern.window = 4, c.lantern.fields_per_item = 2;
    c.lantern.endpoint.base_url = url, c.lantern.endpoint.model = "scripted", c.lantern.endpoint.api_key_env = "";
    return c;
  };
  const auto& labels = load_config({}, {}).data.labels;
  double vanilla = 0;
  {
    LoopbackServer server(album_refiner(gold, labels, true));
    auto r = run_lantern_refine(config("informative", server.base_url()));
    std::printf("informative refiner:\n%s\n", r.report_markdown.c_str());
    for (const auto& s : r.splits) {
      if (s.split != "test") continue;
      vanilla = s.vanilla;
      EXPECT_GT(s.items, 150);
      EXPECT_GT(s.fused, s.vanilla + 0.2) << "vanilla " << s.vanilla << ", fused " << s.fused;
    }
  }
  {
    LoopbackServer server(album_refiner(gold, labels, false));
    auto c = config("noise", server.base_url());
    c.lantern.vanilla = dir + "/informative/lantern/vanilla.jsonl";  // the same vanilla predictions, not computed again
    auto r = run_lantern_refine(c);
    std::printf("noise refiner:\n%s\n", r.report_markdown.c_str());
    for (const auto& s : r.splits) {
      if (s.split != "test") continue;
      // The zero-shot tiny VLM is at or below chance on this world, so a random refiner can only match or beat it: the
      // fitted fusion must not lose to it (by more than a point). That it stays within a point of a vanilla model
      // worth keeping (57 %) is asserted in test_lantern_refine.cpp.
      EXPECT_GE(s.fused, vanilla - 0.01) << "noise does not hurt the fused prediction";
    }
  }
  // A vanilla model worth keeping: the world's own context-free Bayes classifier p(e | aspects), the best any model of
  // one image can be (world.json's bayes_context_free). Noise must leave it within a point; the informative refiner,
  // which sees the sequence, must lift it toward the whole-sequence limit.
  const auto bayes_vanilla = write_bayes_vanilla(world.manifest, o.sharpness, dir + "/bayes-vanilla.jsonl");
  for (const bool informative : {false, true}) {
    LoopbackServer server(album_refiner(gold, labels, informative));
    auto c = config(informative ? "bayes-informative" : "bayes-noise", server.base_url());
    c.lantern.vanilla = bayes_vanilla;
    auto r = run_lantern_refine(c);
    std::printf("%s refiner over the Bayes vanilla:\n%s\n", informative ? "informative" : "noise", r.report_markdown.c_str());
    for (const auto& s : r.splits) {
      if (s.split != "test") continue;
      EXPECT_GT(s.vanilla, 0.45) << "the context-free Bayes classifier";
      if (informative) {
        EXPECT_GT(s.fused, s.vanilla + 0.1) << "vanilla " << s.vanilla << ", fused " << s.fused;
      } else {
        EXPECT_NEAR(s.fused, s.vanilla, 0.01) << "noise leaves the fitted fusion within a point of the vanilla";
      }
    }
  }
}

}  // namespace
}  // namespace emotune
