// `emotune refine` (Lantern) end to end through the real HTTP client, against scripted OpenAI-compatible refiners on
// loopback: one that sees each item's label (with noise) helps, one that answers noise does not hurt once the fusion
// is fitted; unreadable answers are asked again; a budget stop resumes without repeating a call.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

#include "core/atomic_file.h"
#include "core/rng.h"
#include "llm/loopback_server.h"
#include "recipes/lantern_refine.h"
#include "test_support.h"

namespace emotune {
namespace {
using testing::completion;
using testing::LoopbackServer;

const std::vector<std::string> kLabels{"happy", "sad", "neutral", "angry"};

// Sequences whose labels carry inertia (the label stays with probability 0.7), split train / val / test, and a vanilla
// model right on 55 % of the items. Each item's text is its id, which the scripted refiners look up.
struct SequenceWorld {
  std::string vanilla_file;
  std::map<std::string, int64_t> gold;
};

SequenceWorld sequence_world(const std::string& dir) {
  SequenceWorld w;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::string lines;
  int64_t s = 0;
  for (auto [split, count] : {std::pair<std::string, int>{"train", 60}, {"val", 20}, {"test", 60}})
    for (int k = 0; k < count; ++k, ++s) {
      int64_t label = static_cast<int64_t>(rng() % 4);
      for (int64_t i = 0; i < 10; ++i) {
        if (i > 0 && u(rng) > 0.7) label = (label + 1 + static_cast<int64_t>(rng() % 3)) % 4;
        const auto id = "s" + std::to_string(s) + "-" + std::to_string(i);
        w.gold[id] = label;
        const int64_t seen = u(rng) < 0.55 ? label : (label + 1 + static_cast<int64_t>(rng() % 3)) % 4;
        nlohmann::json p = nlohmann::json::object();
        for (int64_t l = 0; l < 4; ++l) p[kLabels[static_cast<size_t>(l)]] = l == seen ? 0.55 : 0.15;
        lines += nlohmann::json{{"sequence", "s" + std::to_string(s)}, {"index", i}, {"split", split}, {"gold", kLabels[static_cast<size_t>(label)]},
                                {"text", id}, {"probabilities", p}}
                     .dump() +
                 "\n";
      }
    }
  w.vanilla_file = dir + "/vanilla.jsonl";
  write_file_atomic(w.vanilla_file, lines);
  return w;
}

// A refiner that answers every item of the field: with `informative`, 0.7 on the item's label 75 % of the time (else
// on a random one); otherwise a random distribution. Answers are pure functions of the request. Requests whose hash
// is 0 mod `garbage_every` (seed 0 only) get prose instead of JSON.
LoopbackServer::Handler refiner(const SequenceWorld& w, bool informative, uint64_t garbage_every = 0) {
  return [&w, informative, garbage_every](int64_t, const httplib::Request& req, httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body);
    const auto user = body["messages"][1]["content"].get<std::string>();
    std::mt19937_64 rng(string_seed(req.body));
    if (garbage_every && body["seed"] == 0 && mix_seed(string_seed(user), 1) % garbage_every == 0) {
      res.set_content(completion("These utterances feel mostly neutral to me."), "application/json");
      return;
    }
    nlohmann::json items = nlohmann::json::array();
    const std::regex line("(\\d+)\\. \"([^\"]+)\"");
    for (std::sregex_iterator it(user.begin(), user.end(), line), end; it != end; ++it) {
      std::vector<double> p(4);
      if (informative) {
        const int64_t gold = w.gold.at((*it)[2].str());
        const int64_t pick = rng() % 4 < 3 ? gold : static_cast<int64_t>(rng() % 4);
        for (int64_t l = 0; l < 4; ++l) p[static_cast<size_t>(l)] = l == pick ? 0.7 : 0.1;
      } else {
        double sum = 0;
        for (auto& v : p) sum += v = std::exponential_distribution<double>(1.0)(rng);
        for (auto& v : p) v /= sum;
      }
      nlohmann::json probs = nlohmann::json::object();
      for (size_t l = 0; l < 4; ++l) probs[kLabels[l]] = p[l];
      items.push_back({{"index", std::stoi((*it)[1].str())}, {"probabilities", probs}});
    }
    res.set_content(completion("```json\n" + nlohmann::json{{"items", items}}.dump() + "\n```", 400, 120), "application/json");
  };
}

EmotuneConfig lantern_config(const std::string& run_dir, const std::string& vanilla, const std::string& url) {
  auto c = load_config({}, {});
  c.run_dir = run_dir;
  c.data.labels = kLabels;
  c.data.train_split = "train", c.data.eval_split = "test";
  c.lantern.vanilla = vanilla;
  c.lantern.window = 4, c.lantern.fields_per_item = 2;
  c.lantern.endpoint.base_url = url, c.lantern.endpoint.model = "scripted", c.lantern.endpoint.api_key_env = "";
  c.lantern.endpoint.usd_per_million_prompt_tokens = 1, c.lantern.endpoint.usd_per_million_completion_tokens = 2;
  return c;
}

const LanternSplitResult& split_of(const LanternResult& r, const std::string& name) {
  for (const auto& s : r.splits)
    if (s.split == name) return s;
  throw std::runtime_error("no split " + name);
}

TEST(LanternRefine, AnInformativeRefinerHelpsAndANoisyOneDoesNotHurt) {
  auto dir = testing::scratch_dir("lantern");
  auto w = sequence_world(dir);
  {
    LoopbackServer server(refiner(w, true));
    auto r = run_lantern_refine(lantern_config(dir + "/informative", w.vanilla_file, server.base_url()));
    std::printf("informative refiner:\n%s\n", r.report_markdown.c_str());
    const auto& test = split_of(r, "test");
    EXPECT_EQ(test.items, 600);
    EXPECT_EQ(r.fields, 140 * 6) << "n = 10, w = 4, t = 2: windows start at -2, 0, 2, 4, 6, 8";
    EXPECT_EQ(server.requests(), r.fields);
    EXPECT_GT(test.fused, test.vanilla + 0.1) << "vanilla " << test.vanilla << ", fused " << test.fused;
    // Here the uniform average is already near the best weighting (both refinements beat the vanilla): the fitted one
    // may not pass it, and must not fall far behind.
    EXPECT_GT(test.fused, test.uniform - 0.02) << "the fitted weighting is about as good as the uniform average";
  }
  {
    LoopbackServer server(refiner(w, false));
    auto r = run_lantern_refine(lantern_config(dir + "/noise", w.vanilla_file, server.base_url()));
    std::printf("noise refiner:\n%s\n", r.report_markdown.c_str());
    const auto& test = split_of(r, "test");
    EXPECT_NEAR(test.fused, test.vanilla, 0.01) << "the fusion learns to keep the vanilla prediction";
    EXPECT_LT(test.uniform, test.vanilla - 0.03) << "averaging noise in hurts: what the fitted weighting avoids";
  }
}

TEST(LanternRefine, UnreadableAnswersAreAskedAgainAndABudgetStopResumesWithoutRepeatingACall) {
  auto dir = testing::scratch_dir("lantern");
  auto w = sequence_world(dir);
  LoopbackServer server(refiner(w, true, 4));
  auto c = lantern_config(dir + "/run", w.vanilla_file, server.base_url());
  auto whole = run_lantern_refine(lantern_config(dir + "/whole", w.vanilla_file, server.base_url()));
  EXPECT_GT(whole.unreadable_answers, 100);  // about a quarter of the fields' first answers
  EXPECT_EQ(whole.fields_fallen_back, 0) << "every re-ask (seed 1) is answered";
  EXPECT_EQ(whole.spend.new_calls, whole.fields + whole.unreadable_answers);
  const int64_t before = server.requests();
  c.lantern.stop_after_calls = 300;
  EXPECT_THROW(run_lantern_refine(c), RunStopped);
  EXPECT_EQ(server.requests() - before, 300);
  c.lantern.stop_after_calls = 0;
  auto resumed = run_lantern_refine(c);
  EXPECT_EQ(server.requests() - before, whole.spend.new_calls) << "the rest, and not one call twice";
  EXPECT_EQ(resumed.spend.cached_calls, 300);
  EXPECT_EQ(read_file(dir + "/run/lantern/refined.jsonl"), read_file(dir + "/whole/lantern/refined.jsonl"));
  auto again = run_lantern_refine(c);
  EXPECT_EQ(again.spend.new_calls, 0);
  EXPECT_EQ(server.requests() - before, whole.spend.new_calls);
}

TEST(LanternRefine, AVanillaFileWithAGapOrAnUnknownLabelIsNamedByLine) {
  auto dir = testing::scratch_dir("lantern");
  auto c = lantern_config(dir + "/run", dir + "/vanilla.jsonl", "http://127.0.0.1:9/v1");
  const std::string p = R"("probabilities": {"happy": 0.25, "sad": 0.25, "neutral": 0.25, "angry": 0.25})";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{\"sequence\": \"a\", \"index\": 0, \"split\": \"test\", " + p + "}\n{\"sequence\": \"a\", \"index\": 2, \"split\": \"test\", " + p + "}\n",
       "sequence 'a' has no index 1"},
      {"{\"sequence\": \"a\", \"index\": 0, \"split\": \"test\", \"gold\": \"joy\", " + p + "}\n", "vanilla.jsonl:1: gold 'joy' is not one of data.labels"},
      {"{\"sequence\": \"a\", \"index\": 0, \"split\": \"test\", " + p + "}\n{\"sequence\": \"a\", \"index\": 0, \"split\": \"test\", " + p + "}\n",
       "vanilla.jsonl:2: sequence 'a' has index 0 twice (also line 1)"},
      {"{\"sequence\": \"a\", \"index\": 0, \"split\": \"test\", \"probabilities\": {\"happy\": 1}}\n", "vanilla.jsonl:1: \"probabilities\" has no 'sad'"},
      {"{\"index\": 0, \"split\": \"test\", " + p + "}\n", "vanilla.jsonl:1: no \"sequence\""},
  };
  for (const auto& [text, why] : cases) {
    write_file_atomic(c.lantern.vanilla, text);
    auto message = testing::error_message([&] { run_lantern_refine(c); });
    EXPECT_NE(message.find(why), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace emotune
