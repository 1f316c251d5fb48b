// Data-parallel runs (issue 30, docs/distributed.md): the test starts the ranks itself, as torchrun would (its
// environment variables; rank 0 hosts the store), on Gloo over loopback. 2 ranks × batch 4 train what 1 process ×
// batch 8 trains; a dead or hung rank ends the others with an error inside the timeout; ranks that disagree are
// refused; a run killed on every rank resumes to the uninterrupted result; torchrun itself launches the ranks.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n) != 0) {
    ::close(fd);
    return 29500;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// `count` emotune processes with torchrun's variables; each rank's output in dir/rank-R.log.
class Ranks {
 public:
  Ranks(std::string dir, int count) : dir_(std::move(dir)), count_(count), port_(free_port()) { fs::create_directories(dir_); }
  // Starts rank r (returns at once); `env`: more variables, "NAME=value ...".
  void start(int r, const std::string& args, const std::string& env = "") {
    const auto file = dir_ + "/rank-" + std::to_string(r);
    fs::remove(file + ".status");
    const std::string command = "( " + env + " RANK=" + std::to_string(r) + " WORLD_SIZE=" + std::to_string(count_) + " LOCAL_RANK=" +
                                std::to_string(r) + " LOCAL_WORLD_SIZE=" + std::to_string(count_) +
                                " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port_) + " " + testing::emotune_binary() +
                                " " + args + " > " + file + ".log 2>&1 & echo $! > " + file + ".pid; wait $!; echo $? > " +
                                file + ".status ) > /dev/null 2>&1 &";
    std::string out;
    ASSERT_EQ(testing::run_command(command, &out), 0) << out;
    while (!fs::exists(file + ".pid") || slurp(file + ".pid").empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void start_all(const std::string& args, const std::string& env = "") {
    for (int r = 0; r < count_; ++r) start(r, args, env);
  }
  // Rank r's exit status once it ends (-1: still running after `limit` seconds).
  int wait(int r, double limit = 300) {
    const auto file = dir_ + "/rank-" + std::to_string(r) + ".status";
    const auto begin = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() < limit) {
      if (auto s = slurp(file); !s.empty() && s.back() == '\n') return std::stoi(s);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  // Every rank's status, all expected 0, with their logs on failure.
  void expect_success() {
    for (int r = 0; r < count_; ++r) EXPECT_EQ(wait(r), 0) << "rank " << r << ":\n" << log(r);
  }
  std::string log(int r) const { return slurp(dir_ + "/rank-" + std::to_string(r) + ".log"); }
  void signal(int r, const std::string& name) {
    std::string out;
    testing::run_command("kill -" + name + " " + slurp(dir_ + "/rank-" + std::to_string(r) + ".pid"), &out);
  }
  int port() const { return port_; }

 private:
  std::string dir_;
  int count_, port_;
};

// Waits until run_dir's metrics.jsonl has `lines` lines.
void wait_for_steps(const std::string& run_dir, size_t lines) {
  for (int i = 0; i < 3000; ++i) {
    if (testing::logged_losses(run_dir).size() >= lines) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << run_dir << ": " << lines << " steps were not logged";
}

int run_alone(const std::string& args, std::string* out) { return testing::run_command(testing::emotune_binary() + " " + args, out); }

// The config file every run shares: the tiny bundle, 13 images per split, two aspects (stage 1: 26 image-aspect
// pairs, so a global batch of 8 ends with a step of 2 that rank 1 has no share of; stage 2 (V+S): 13 images, a
// last step of 5 split 4 + 1). lr 3e-4: one process's batch of 8 pads its sequences otherwise than two batches of
// 4, so its matrix products round otherwise (~1e-7), and Adam's normalised steps carry that into the weights in
// proportion to the learning rate; the split itself is exact (the grad_accum comparison below is bit for bit).
std::string shared_config(const std::string& name) {
  auto c = testing::small_config(testing::small_world(24), "unused");
  c.threads = 1;
  c.data.max_samples = 13;
  c.masp.aspects = {"scene", "brightness"};
  c.masp.use_aspects = false;
  c.train.lr = 3e-4;
  c.train.max_steps = 0;
  c.train.epochs = 2;
  c.train.warmup_ratio = 0;
  const auto dir = testing::scratch_dir(name);
  write_file_atomic(dir + "/config.yaml", config_to_yaml(c));
  return "-c " + dir + "/config.yaml";
}

void expect_close_tensors(const std::string& a, const std::string& b, double tolerance) {
  auto x = load_safetensors(a).tensors, y = load_safetensors(b).tensors;
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, t] : x) {
    ASSERT_TRUE(y.count(name)) << name;
    EXPECT_LE((t.to(torch::kFloat64) - y.at(name).to(torch::kFloat64)).abs().max().item<double>(), tolerance) << name;
  }
}

TEST(DataParallel, TwoRanksTrainAndEvaluateWhatOneProcessDoesAtTheSameGlobalBatch) {
  const auto config = shared_config("dp_config");
  const auto dir = testing::scratch_dir("dp_runs");
  std::string out;
  for (const std::string stage : {"train-aspects", "train-prompt"}) {
    const auto one = dir + "/" + stage + "-one", two = dir + "/" + stage + "-two";
    ASSERT_EQ(run_alone(stage + " " + config + " --set train.batch_size=8 --set run_dir=" + one, &out), 0) << out;
    Ranks ranks(dir + "/" + stage + "-ranks", 2);
    ranks.start_all(stage + " " + config + " --set train.batch_size=4 --set run_dir=" + two);
    ranks.expect_success();
    EXPECT_NE(ranks.log(1).find("distributed: rank 1 of 2"), std::string::npos) << ranks.log(1);
    expect_close_tensors(one + "/checkpoint.safetensors", two + "/checkpoint.safetensors", 1e-6);
    // The same micro-batches in one process (batch 4, accumulated twice): the same sums, so the same bits.
    const auto accumulated = dir + "/" + stage + "-accumulated";
    ASSERT_EQ(run_alone(stage + " " + config + " --set train.batch_size=4 --set train.grad_accum=2 --set run_dir=" + accumulated, &out), 0) << out;
    testing::expect_same_tensors(accumulated + "/checkpoint.safetensors", two + "/checkpoint.safetensors");
    const auto l1 = testing::logged_losses(one), l2 = testing::logged_losses(two);
    ASSERT_EQ(l1.size(), l2.size());
    for (size_t i = 0; i < l1.size(); ++i) EXPECT_NEAR(l1[i], l2[i], 1e-6 * std::abs(l1[i])) << stage << " step " << i + 1;
    // The uneven last step is part of what was compared: its samples, as logged.
    std::ifstream metrics(two + "/metrics.jsonl");
    std::string line, last;
    while (std::getline(metrics, line)) last = line;
    EXPECT_LT(nlohmann::json::parse(last)["samples"].get<int>(), stage == "train-aspects" ? 4 : 8) << last;
    EXPECT_FALSE(fs::exists(two + "/rank-1.log"));
  }
  // Evaluation: batches dealt over the ranks, predictions gathered in the one-process order.
  const auto ckpt = dir + "/train-prompt-one/checkpoint.safetensors";
  ASSERT_EQ(run_alone("eval " + config + " --checkpoint " + ckpt + " --set eval.batch_size=16 --set eval.out_dir=" + dir + "/eval-one", &out), 0) << out;
  Ranks ranks(dir + "/eval-ranks", 2);
  ranks.start_all("eval " + config + " --checkpoint " + ckpt + " --set eval.batch_size=16 --set eval.out_dir=" + dir + "/eval-two");
  ranks.expect_success();
  EXPECT_EQ(slurp(dir + "/eval-one/predictions.jsonl"), slurp(dir + "/eval-two/predictions.jsonl"));
  EXPECT_EQ(slurp(dir + "/eval-one/confusion.csv"), slurp(dir + "/eval-two/confusion.csv"));
}

TEST(DataParallel, ADeadOrHungRankEndsTheOtherWithAClearErrorInsideTheTimeout) {
  const auto config = shared_config("dp_fault_config") + " --set train.max_steps=100000 --set train.checkpoint_every=1";
  const auto dir = testing::scratch_dir("dp_fault");
  {  // killed
    Ranks ranks(dir + "/killed", 2);
    ranks.start_all("train-prompt " + config + " --set distributed.timeout_s=60 --set run_dir=" + dir + "/killed-run");
    wait_for_steps(dir + "/killed-run", 2);
    ranks.signal(1, "KILL");
    EXPECT_EQ(ranks.wait(0, 60), 2) << ranks.log(0);  // a dead peer is seen at once, long before the 60 s
    EXPECT_NE(ranks.log(0).find("another rank died or stopped answering"), std::string::npos) << ranks.log(0);
    EXPECT_GE(load_safetensors(dir + "/killed-run/resume.safetensors").tensors.size(), 1u);  // the last checkpoint stays
  }
  {  // hung: rank 1 stopped, so only the timeout can end rank 0
    Ranks ranks(dir + "/hung", 2);
    ranks.start_all("train-prompt " + config + " --set distributed.timeout_s=3 --set run_dir=" + dir + "/hung-run");
    wait_for_steps(dir + "/hung-run", 2);
    ranks.signal(1, "STOP");
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(ranks.wait(0, 60), 2) << ranks.log(0);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(), 30.0);
    EXPECT_NE(ranks.log(0).find("within distributed.timeout_s (3 s)"), std::string::npos) << ranks.log(0);
    ranks.signal(1, "KILL");
  }
  {  // a rank that never starts: rank 0 gives up at the rendezvous
    Ranks ranks(dir + "/alone", 2);
    ranks.start(0, "train-prompt " + config + " --set distributed.timeout_s=2 --set run_dir=" + dir + "/alone-run");
    EXPECT_EQ(ranks.wait(0, 60), 2) << ranks.log(0);
    EXPECT_NE(ranks.log(0).find("did every rank start"), std::string::npos) << ranks.log(0);
  }
}

TEST(DataParallel, RanksThatDisagreeAreRefusedAndOneProcessCommandsSaySo) {
  const auto config = shared_config("dp_disagree_config");
  const auto dir = testing::scratch_dir("dp_disagree");
  Ranks ranks(dir, 2);
  ranks.start(0, "train-prompt " + config + " --set run_dir=" + dir + "/run");
  ranks.start(1, "train-prompt " + config + " --set train.lr=0.5 --set run_dir=" + dir + "/run");
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(ranks.wait(r), 2) << ranks.log(r);
    EXPECT_NE(ranks.log(r).find("the ranks disagree on the config (line "), std::string::npos) << ranks.log(r);
    EXPECT_NE(ranks.log(r).find("lr: 0.5' on rank 1"), std::string::npos) << ranks.log(r);
  }
  EXPECT_FALSE(fs::exists(dir + "/run/checkpoint.safetensors"));
  std::string out;
  EXPECT_EQ(testing::run_command("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 " + testing::emotune_binary() + " tokenize --bundle " + testing::tiny_bundle() + " hi", &out), 2);
  EXPECT_NE(out.find("'emotune tokenize' runs as one process, but this one was launched as rank 0 of 2"), std::string::npos) << out;
}

TEST(DataParallel, ARunKilledOnEveryRankResumesToTheUninterruptedResult) {
  const auto config = shared_config("dp_resume_config") + " --set train.checkpoint_every=1 --set train.batch_size=4";
  const auto dir = testing::scratch_dir("dp_resume");
  Ranks whole(dir + "/whole", 2);
  whole.start_all("train-prompt " + config + " --set run_dir=" + dir + "/whole-run");
  whole.expect_success();
  Ranks killed(dir + "/killed", 2);
  killed.start_all("train-prompt " + config + " --set run_dir=" + dir + "/killed-run");
  wait_for_steps(dir + "/killed-run", 2);
  killed.signal(0, "KILL"), killed.signal(1, "KILL");
  killed.wait(0), killed.wait(1);
  ASSERT_LT(testing::logged_losses(dir + "/killed-run").size(), testing::logged_losses(dir + "/whole-run").size());
  Ranks again(dir + "/again", 2);
  again.start_all("train-prompt " + config + " --set run_dir=" + dir + "/killed-run");
  again.expect_success();
  EXPECT_NE(again.log(0).find("resuming prompt from step"), std::string::npos) << again.log(0);
  testing::expect_same_tensors(dir + "/whole-run/checkpoint.safetensors", dir + "/killed-run/checkpoint.safetensors");
  EXPECT_EQ(testing::logged_losses(dir + "/whole-run"), testing::logged_losses(dir + "/killed-run"));
  // Another world size at the same global batch: 2 ranks × 4 stopped after 2 steps, then 1 process × 8.
  Ranks part(dir + "/part", 2);
  part.start_all("train-prompt " + config + " --set train.stop_after_steps=2 --set run_dir=" + dir + "/resized-run");
  part.expect_success();
  std::string out;
  EXPECT_EQ(run_alone("train-prompt " + config + " --set run_dir=" + dir + "/resized-run", &out), 2);
  EXPECT_NE(out.find("trained at a global batch of 8 samples per step, this run's is 4"), std::string::npos) << out;
  ASSERT_EQ(run_alone("train-prompt " + config + " --set train.batch_size=8 --set run_dir=" + dir + "/resized-run", &out), 0) << out;
  expect_close_tensors(dir + "/whole-run/checkpoint.safetensors", dir + "/resized-run/checkpoint.safetensors", 1e-6);
}

TEST(DataParallel, TorchrunLaunchesTheRanksThroughItsAgentStore) {
  if (!fs::exists("/usr/bin/torchrun")) GTEST_SKIP() << "no /usr/bin/torchrun (Debian's python3-torch)";
  const auto config = shared_config("dp_torchrun_config") + " --set train.batch_size=4";
  const auto dir = testing::scratch_dir("dp_torchrun");
  Ranks ranks(dir + "/env", 2);
  // torchrun sets OMP_NUM_THREADS=1, which OpenBLAS's threads (and so its rounding) follow.
  ranks.start_all("train-prompt " + config + " --set run_dir=" + dir + "/env-run", "OMP_NUM_THREADS=1");
  ranks.expect_success();
  // Debian's torchrun (1.13 under Python 3.11) cannot parse its own default --redirects/--tee of 0: give 2.
  std::string out;
  ASSERT_EQ(testing::run_command("/usr/bin/torchrun --nproc_per_node 2 --master_port " + std::to_string(free_port()) +
                                     " --redirects 2 --tee 2 --no_python " + testing::emotune_binary() + " train-prompt " +
                                     config + " --set run_dir=" + dir + "/torchrun-run",
                                 &out),
            0)
      << out;
  EXPECT_NE(out.find("(torchrun's agent store)"), std::string::npos) << out;
  testing::expect_same_tensors(dir + "/env-run/checkpoint.safetensors", dir + "/torchrun-run/checkpoint.safetensors");
  // One rank with its backend named makes a group (how a single GPU exercises NCCL) and every step goes through its
  // all-reduce: a sum over one rank, the same bits as one process without a group.
  ASSERT_EQ(testing::run_command("OMP_NUM_THREADS=1 /usr/bin/torchrun --nproc_per_node 1 --master_port " + std::to_string(free_port()) +
                                     " --redirects 2 --tee 2 --no_python " + testing::emotune_binary() + " train-prompt " +
                                     config + " --set train.batch_size=8 --set distributed.backend=gloo --set run_dir=" + dir +
                                     "/one-rank-run",
                                 &out),
            0)
      << out;
  EXPECT_NE(out.find("distributed: rank 0 of 1 (local 0 of 1), gloo"), std::string::npos) << out;
  // (OMP_NUM_THREADS for both: torchrun sets it only for several processes per node.)
  ASSERT_EQ(testing::run_command("OMP_NUM_THREADS=1 " + testing::emotune_binary() + " train-prompt " + config +
                                     " --set train.batch_size=8 --set run_dir=" + dir + "/no-group-run",
                                 &out),
            0)
      << out;
  testing::expect_same_tensors(dir + "/no-group-run/checkpoint.safetensors", dir + "/one-rank-run/checkpoint.safetensors");
}

// How many predictions.jsonl files under `a` (each a settings' label scores per image) have a byte-identical twin
// at the same place under `b`; a missing or different twin is a failure.
int same_predictions(const std::string& a, const std::string& b) {
  int same = 0;
  for (const auto& e : fs::recursive_directory_iterator(a)) {
    if (e.path().filename() != "predictions.jsonl") continue;
    const auto twin = fs::path(b) / fs::relative(e.path(), a);
    const auto text = slurp(e.path().string());
    EXPECT_FALSE(text.empty()) << e.path();
    EXPECT_EQ(text, slurp(twin.string())) << twin;
    same += text == slurp(twin.string());
  }
  return same;
}

// The recipes train and evaluate through the same trainer and evaluators: on 2 ranks × batch 4 they write what one
// process writes at batch 4 × grad_accum 2 (the same micro-batches, so the same bits), tables included.
TEST(DataParallel, AblateAndSweepOnTwoRanksWriteWhatOneProcessWrites) {
  const auto config = shared_config("dp_recipes_config") + " --set train.epochs=1 --set train.batch_size=4";
  const auto dir = testing::scratch_dir("dp_recipes");
  std::string out;
  ASSERT_EQ(run_alone("ablate " + config + " --set train.grad_accum=2 --set run_dir=" + dir + "/ablate-one", &out), 0) << out;
  Ranks ablate(dir + "/ablate-ranks", 2);
  ablate.start_all("ablate " + config + " --set run_dir=" + dir + "/ablate-two");
  ablate.expect_success();
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/ablate-one/ablation.json")), nlohmann::json::parse(slurp(dir + "/ablate-two/ablation.json")));
  EXPECT_EQ(same_predictions(dir + "/ablate-one", dir + "/ablate-two"), 5);  // every setting's scores, to the bit
  for (const char* run : {"aspects", "prompt", "prompt-v"})
    testing::expect_same_tensors(dir + "/ablate-one/" + run + "/checkpoint.safetensors", dir + "/ablate-two/" + run + "/checkpoint.safetensors");
  const std::string sweep = "sweep " + config + " --set sweep.key=masp.soft_prompt_length --set 'sweep.values=[2, 3]'";
  ASSERT_EQ(run_alone(sweep + " --set train.grad_accum=2 --set run_dir=" + dir + "/sweep-one", &out), 0) << out;
  Ranks ranks(dir + "/sweep-ranks", 2);
  ranks.start_all(sweep + " --set run_dir=" + dir + "/sweep-two");
  ranks.expect_success();
  EXPECT_EQ(slurp(dir + "/sweep-one/sweep/table.md"), slurp(dir + "/sweep-two/sweep/table.md"));
  EXPECT_EQ(same_predictions(dir + "/sweep-one", dir + "/sweep-two"), 2);  // one per soft-prompt length
}

TEST(DataParallel, PersonalizeDealsUsersOverTheRanksAndStoresThemOnce) {
  const auto dir = testing::scratch_dir("dp_personal");
  std::string out;
  ASSERT_EQ(run_alone("synth --out " + dir + "/world --images 36 --users 3 --seed 21", &out), 0) << out;
  auto c = testing::small_config(dir + "/world/manifest.jsonl", "unused");
  c.threads = 1;
  c.train.warmup_ratio = 0;
  c.personal.prompt_steps = 2, c.personal.eval_every = 1, c.personal.head_steps = 20, c.personal.head_global_steps = 20;
  write_file_atomic(dir + "/config.yaml", config_to_yaml(c));
  const std::string args = "personalize -c " + dir + "/config.yaml";
  ASSERT_EQ(run_alone(args + " --set train.batch_size=8 --set run_dir=" + dir + "/one", &out), 0) << out;
  Ranks ranks(dir + "/ranks", 2);
  ranks.start_all(args + " --set train.batch_size=4 --set run_dir=" + dir + "/two");
  ranks.expect_success();
  expect_close_tensors(dir + "/one/personal.safetensors", dir + "/two/personal.safetensors", 1e-5);
  EXPECT_TRUE(fs::exists(dir + "/two/personalize/report.md"));
  EXPECT_NE(ranks.log(0).find("user "), std::string::npos);
}

}  // namespace
}  // namespace emotune
