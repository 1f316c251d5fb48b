// torchrun's environment read and checked: what each variable means, and the error for each malformed one.
#include <gtest/gtest.h>

#include <map>

#include "dist/launch_env.h"
#include "test_support.h"

namespace emotune {
namespace {

LaunchEnv read(const std::map<std::string, std::string>& vars) {
  return read_launch_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchEnv, NoVariablesIsOneProcess) {
  auto env = read({});
  EXPECT_FALSE(env.launched);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
}

TEST(LaunchEnv, TorchrunsVariablesAndItsAgentStore) {
  auto env = read({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "node0"},
                   {"MASTER_PORT", "29500"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(env.launched);
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.master_addr, "node0");
  EXPECT_EQ(env.master_port, 29500);
  EXPECT_TRUE(env.agent_store);
  // Where torch.distributed's own rendezvous meets on torchrun's store (torch/distributed/rendezvous.py).
  EXPECT_EQ(env.store_prefix(), "/worker/attempt_2");
  // Without the agent store, rank 0 hosts the store and there is no attempt prefix.
  auto own = read({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}});
  EXPECT_FALSE(own.agent_store);
  EXPECT_EQ(own.store_prefix(), "");
  EXPECT_EQ(own.local_world_size, 2);  // LOCAL_* default to one machine
  // One rank needs no store at all.
  EXPECT_EQ(read({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).world_size, 1);
}

TEST(LaunchEnv, EachMalformedVariableIsNamed) {
  const std::map<std::string, std::string> good{{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& key, const std::string& value) {
    auto vars = good;
    if (value.empty()) vars.erase(key);
    else vars[key] = value;
    return testing::error_message([&] { read(vars); });
  };
  EXPECT_NE(with("RANK", "2").find("RANK='2': expected an integer in [0, 1]"), std::string::npos) << with("RANK", "2");
  EXPECT_NE(with("RANK", "one").find("RANK='one'"), std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "0").find("WORLD_SIZE='0'"), std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "").find("RANK is set but WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "70000").find("MASTER_PORT='70000'"), std::string::npos);
  EXPECT_NE(with("MASTER_ADDR", "").find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(with("LOCAL_RANK", "5").find("LOCAL_RANK='5'"), std::string::npos);
  EXPECT_NE(with("TORCHELASTIC_USE_AGENT_STORE", "True").find("TORCHELASTIC_RESTART_COUNT is not set"), std::string::npos);
}

}  // namespace
}  // namespace emotune
