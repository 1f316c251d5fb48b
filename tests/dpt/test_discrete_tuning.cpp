// tune-discrete end to end against scripted OpenAI-compatible proposer and target on loopback: a rerun makes
// no call, a budget stop resumes without repeating a call, and a killed run resumes to the same result.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/rng.h"
#include "dpt/discrete_tuner.h"
#include "llm/loopback_server.h"
#include "synth/affect_world.h"
#include "test_support.h"

extern char** environ;

namespace emotune {
namespace {
namespace fs = std::filesystem;
using testing::completion;
using testing::LoopbackServer;

std::string users_world() {
  static std::string manifest;
  if (!manifest.empty()) return manifest;
  WorldOptions o;
  o.out_dir = (fs::temp_directory_path() / ("emotune-test-" + std::to_string(::getpid())) / "users-world").string();
  o.images = 40, o.users = 2, o.seed = 9;
  return manifest = synthesize_world(o).manifest;
}

// Proposer requests carry a system message; target requests carry an image. Answers are pure functions of
// the request, like a model at temperature 0.
void scripted_model(const httplib::Request& req, httplib::Response& res) {
  auto body = nlohmann::json::parse(req.body);
  const auto& messages = body["messages"];
  const uint64_t h = string_seed(req.body);
  if (messages[0]["role"] == "system") {
    nlohmann::json prompts = nlohmann::json::array();
    for (int k = 0; k < 6; ++k) prompts.push_back("Prompt " + std::to_string((h >> (4 * k)) % 97) + ": which emotion?");
    res.set_content(completion(prompts.dump(), 200, 60), "application/json");
  } else {
    static const std::vector<std::string> words{"amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"};
    res.set_content(completion("It is " + words[h % 8] + ".", 300, 4), "application/json");
  }
}

EmotuneConfig dpt_config(const std::string& run_dir, const std::string& url) {
  auto c = testing::small_config(users_world(), run_dir);
  c.dpt.proposer = "openai", c.dpt.target = "openai";
  for (auto* e : {&c.dpt.proposer_endpoint, &c.dpt.target_endpoint}) {
    e->base_url = url, e->model = "scripted", e->backoff_initial_s = 0.01, e->timeout_s = 5;
    e->usd_per_million_prompt_tokens = 1000, e->usd_per_million_completion_tokens = 1000;
  }
  c.dpt.initial_prompts = 3, c.dpt.proposals_per_step = 2, c.dpt.steps = 2, c.dpt.restarts = 2, c.dpt.initializations = 2;
  c.dpt.vote_prompts = 3, c.dpt.concurrency = 3;
  return c;
}

TEST(DiscreteTuning, RerunMakesNoCallAndBudgetStopResumesWithoutRepeats) {
  LoopbackServer server([](int64_t, const httplib::Request& req, httplib::Response& res) { scripted_model(req, res); });
  const auto dir = testing::scratch_dir("run");
  auto c = dpt_config(dir, server.base_url());
  auto first = run_discrete_tuning(c);
  const auto calls = server.requests();
  ASSERT_EQ(first.users.size(), 2u);
  EXPECT_EQ(first.spend.new_calls, calls);
  for (const auto& u : first.users) {
    EXPECT_EQ(u.candidates, 2 * (3 + 2 * 2 * 2));  // I3 · (N + I2 · I1 · T)
    EXPECT_EQ(u.top.size(), 3u);
    EXPECT_GE(u.vote_test, 0.0);
  }
  std::ifstream history(dir + "/dpt/history.jsonl");
  int64_t lines = 0;
  for (std::string l; std::getline(history, l);) {
    ++lines;
    EXPECT_TRUE(nlohmann::json::parse(l).contains("parents"));
  }
  EXPECT_EQ(lines, 2 * 2 * (3 + 2 * 2 * 2));
  auto again = run_discrete_tuning(c);
  EXPECT_EQ(server.requests(), calls) << "a rerun must answer every call from the cache";
  EXPECT_EQ(again.spend.new_calls, 0);
  EXPECT_EQ(again.to_json(), first.to_json());

  // Budget: a fresh run stops cleanly once it has spent a third of what the whole run costs, then resumes.
  const auto dir2 = testing::scratch_dir("budget");
  auto limited = dpt_config(dir2, server.base_url());
  limited.dpt.budget_usd = first.spend.usd / 3;
  EXPECT_THROW(run_discrete_tuning(limited), RunStopped);
  const auto before = server.requests();
  const auto stopped_at = CallCache(dir2 + "/dpt/calls.jsonl").size();
  EXPECT_GT(stopped_at, 0);
  auto resumed = run_discrete_tuning(dpt_config(dir2, server.base_url()));
  EXPECT_EQ(server.requests() - before + stopped_at, calls) << "the resumed run repeated a cached call";
  EXPECT_EQ(resumed.to_json(), first.to_json());
}

TEST(DiscreteTuning, AKilledRunResumesToTheSameResultWithoutRepeatingCalls) {
  LoopbackServer reference_server([](int64_t, const httplib::Request& req, httplib::Response& res) { scripted_model(req, res); });
  auto reference = run_discrete_tuning(dpt_config(testing::scratch_dir("reference"), reference_server.base_url()));

  const auto dir = testing::scratch_dir("killed");
  pid_t child = 0;
  std::atomic<bool> killed{false};
  LoopbackServer server([&](int64_t n, const httplib::Request& req, httplib::Response& res) {
    if (n == 40 && !killed.exchange(true)) ::kill(child, SIGKILL);  // dies with calls in flight
    scripted_model(req, res);
  });
  auto c = dpt_config(dir, server.base_url());
  write_file_atomic(dir + "/config.yaml", config_to_yaml(c));
  std::vector<std::string> args{testing::emotune_binary(), "tune-discrete", "-c", dir + "/config.yaml"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ASSERT_EQ(::posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(killed) << "the run ended before it could be killed";
  ASSERT_TRUE(WIFSIGNALED(status));
  const auto cached = CallCache(dir + "/dpt/calls.jsonl").size();
  const auto before = server.requests();
  auto resumed = run_discrete_tuning(c);
  EXPECT_EQ(resumed.to_json(), reference.to_json());
  // Every call answered and cached before the kill is not repeated: the resumed run makes exactly the rest.
  EXPECT_EQ(server.requests() - before, reference.spend.new_calls - cached);
}

}  // namespace
}  // namespace emotune
