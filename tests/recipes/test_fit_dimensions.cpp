// `emotune fit-dimensions` on an affect world's valence and arousal (synth/world_dimensions.h), and the head in use:
// `emotune eval` writes its ratings, refuses it on another checkpoint's features, and Lantern's own vanilla model
// carries them into its file and its prompts (issue 32, item 3).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <regex>

#include "core/atomic_file.h"
#include "core/text.h"
#include "llm/loopback_server.h"
#include "masp/stages.h"
#include "recipes/fit_dimensions.h"
#include "recipes/lantern_refine.h"
#include "synth/affect_world.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
using testing::completion;
using testing::LoopbackServer;

std::vector<nlohmann::json> json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Answers every field with the uniform distribution, and keeps the prompts.
LoopbackServer::Handler uniform_refiner(const std::vector<std::string>& labels, std::vector<std::string>& prompts, std::mutex& mutex) {
  return [&labels, &prompts, &mutex](int64_t, const httplib::Request& req, httplib::Response& res) {
    const auto user = nlohmann::json::parse(req.body)["messages"][1]["content"].get<std::string>();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(user, m, std::regex("images (\\d+) to (\\d+) of"))) << user;
    nlohmann::json items = nlohmann::json::array();
    for (int64_t i = 1; i <= std::stoll(m[2].str()) - std::stoll(m[1].str()) + 1; ++i) {
      nlohmann::json p = nlohmann::json::object();
      for (const auto& l : labels) p[l] = 1.0 / static_cast<double>(labels.size());
      items.push_back({{"index", i}, {"probabilities", p}});
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      prompts.push_back(user);
    }
    res.set_content(completion(nlohmann::json{{"items", items}}.dump()), "application/json");
  };
}

TEST(FitDimensions, BeatsTheTrainingMeanAndTravelsThroughEvalAndLantern) {
  const auto dir = testing::scratch_dir("fit-dimensions");
  WorldOptions o;
  o.out_dir = dir + "/world";
  o.images = 800, o.size = 32, o.seed = 8;
  o.sequences = {12, 5, 0.8, 0};
  const auto world = synthesize_world(o);
  auto c = testing::small_config(world.manifest, dir + "/run");
  c.eval.checkpoint = testing::random_aspects_checkpoint(c, open_bundle(c)->spec().hidden_size);  // V+A: aspect tokens
  c.dimensions.names = {"valence", "arousal"};
  const auto r = run_fit_dimensions(c);
  std::printf("%s\n", r.report_markdown.c_str());
  // The tiny VLM's features through random aspect modules show brightness (valence's driver) better than the label
  // (arousal's): both beat the training mean on held-out images, valence by far.
  for (const auto& name : c.dimensions.names) {
    const auto& test = r.metrics["splits"]["test"]["errors"][name];
    EXPECT_LT(test["mse"].get<double>(), (name == "valence" ? 0.7 : 0.95) * test["baseline_mse"].get<double>()) << name << ": the head beats the training mean";
    EXPECT_GT(test["mse"].get<double>(), 0.8 * test["bayes_mse"].get<double>()) << name << ": nothing from the image beats the Bayes MSE";
    EXPECT_GT(test["pearson"].get<double>(), 0.3) << name;
  }

  // eval with the head: every line carries the ratings; metrics.json's errors are fit-dimensions' own on the split.
  c.eval.dimension_head = r.head_path;
  const auto config = testing::write_yaml(config_to_yaml(c), "fit-dimensions-cfg");
  std::string output;
  ASSERT_EQ(testing::run_command(testing::emotune_binary() + " eval -c " + config + " --set eval.out_dir=" + dir + "/eval", &output), 0) << output;
  const auto lines = json_lines(dir + "/eval/predictions.jsonl");
  std::map<std::string, nlohmann::json> by_image;
  for (const auto& j : lines) by_image[j["image"].get<std::string>()] = j["dimensions"];
  ASSERT_FALSE(lines.empty());
  ASSERT_TRUE(lines.front()["dimensions"].contains("arousal"));
  auto metrics = nlohmann::json::parse(read_file(dir + "/eval/metrics.json"))["dimensions"];
  EXPECT_EQ(metrics["rated_images"].get<int64_t>(), static_cast<int64_t>(lines.size()));
  for (const auto& name : c.dimensions.names)
    EXPECT_NEAR(metrics["errors"][name]["mse"].get<double>(), r.metrics["splits"]["test"]["errors"][name]["mse"].get<double>(), 1e-5) << name;
  // ... and refuses it on the zero-shot VLM's features, with the labels ranked in another order, and in a table.
  EXPECT_NE(testing::run_command(testing::emotune_binary() + " eval -c " + config + " --zero-shot --set eval.out_dir=" + dir + "/eval0", &output), 0);
  EXPECT_NE(output.find("this dimension head reads the features of the checkpoint with SHA-256"), std::string::npos) << output;
  auto permuted = c.data.labels;
  std::swap(permuted[0], permuted[1]);
  EXPECT_NE(testing::run_command(testing::emotune_binary() + " eval -c " + config + " --set 'data.labels=[" + joined(permuted, ",") +
                                     "]' --set eval.out_dir=" + dir + "/eval1", &output), 0);
  EXPECT_NE(output.find("this dimension head was fitted on the label scores of [" + joined(c.data.labels) + "]"), std::string::npos) << output;
  EXPECT_NE(testing::run_command(testing::emotune_binary() + " eval -c " + config + " --row a=" + c.eval.checkpoint, &output), 0);
  EXPECT_NE(output.find("it does not apply to the checkpoints x datasets table"), std::string::npos) << output;
  auto same_split = c;
  same_split.dimensions.holdout_split = same_split.data.train_split;
  EXPECT_NE(testing::error_message([&] { run_fit_dimensions(same_split); }).find("'dimensions.holdout_split' is the training split"), std::string::npos);

  // Lantern's own vanilla model with the head: its file carries eval's ratings, its prompts show them.
  std::vector<std::string> prompts;
  std::mutex mutex;
  LoopbackServer server(uniform_refiner(c.data.labels, prompts, mutex));
  c.lantern.item = "image", c.lantern.sequence = "album", c.lantern.window = 4, c.lantern.fields_per_item = 2;
  c.lantern.endpoint.base_url = server.base_url(), c.lantern.endpoint.model = "scripted", c.lantern.endpoint.api_key_env = "";
  c.eval.batch_size = 16;
  run_lantern_refine(c);
  int64_t compared = 0;
  for (const auto& item : json_lines(c.run_dir + "/lantern/vanilla.jsonl")) {
    ASSERT_TRUE(item.contains("dimensions")) << item;
    auto it = by_image.find(item["image"].get<std::string>());
    if (it == by_image.end()) continue;  // a sequence of another split
    for (const auto& name : c.dimensions.names)
      EXPECT_NEAR(item["dimensions"][name].get<double>(), it->second[name].get<double>(), 1e-4) << item;
    ++compared;
  }
  EXPECT_GT(compared, 0);
  ASSERT_FALSE(prompts.empty());
  EXPECT_TRUE(std::regex_search(prompts.front(), std::regex("valence -?\\d+\\.\\d\\d, arousal -?\\d+\\.\\d\\d"))) << prompts.front();
  c.lantern.dimensions = {"arousal", "valence"};
  auto e = testing::error_message([&] { run_lantern_refine(c); });
  EXPECT_NE(e.find("'lantern.dimensions' is [arousal, valence], and eval.dimension_head"), std::string::npos) << e;
}

}  // namespace
}  // namespace emotune
