// The call cache of every run that asks an LLM (llm/call_cache.h): durable, resumable, strict about damage.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "llm/call_cache.h"
#include "test_support.h"

namespace emotune {
namespace {


TEST(CallCache, SurvivesReopenAndATornLastLine) {
  auto path = testing::scratch_dir("cache") + "/calls.jsonl";
  const auto a = call_key("{\"x\":1}", 3), b = call_key("{\"x\":1}", 4);
  EXPECT_NE(a, b);
  EXPECT_NE(call_key("{\"x\":2}", 3), a);
  {
    CallCache cache(path);
    cache.put(a, {"awe", 10, 2, 0.5});
    cache.put(b, {"fear", 1, 1, 0});
  }
  { std::ofstream(path, std::ios::app) << "{\"key\": \"torn"; }  // killed mid-write
  CallCache cache(path);
  ASSERT_TRUE(cache.find(a).has_value());
  EXPECT_EQ(cache.find(a)->text, "awe");
  EXPECT_EQ(cache.find(a)->prompt_tokens, 10);
  EXPECT_DOUBLE_EQ(cache.find(a)->cost_usd, 0.5);
  EXPECT_EQ(cache.size(), 2);
  cache.put(call_key("y", -1), {"ok"});
  EXPECT_EQ(CallCache(path).size(), 3);
}

TEST(CallCache, ABadLineInTheMiddleIsAnErrorNamingTheLine) {
  auto path = testing::scratch_dir("cache") + "/calls.jsonl";
  { std::ofstream(path) << "{\"key\":\"k1\",\"text\":\"a\"}\nnot json\n{\"key\":\"k2\",\"text\":\"b\"}\n"; }
  try {
    CallCache cache(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("calls.jsonl:2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace emotune
