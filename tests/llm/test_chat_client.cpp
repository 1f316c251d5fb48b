// The OpenAI-compatible client against a real HTTP server on loopback, scripted to misbehave.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "llm/chat_client.h"
#include "loopback_server.h"

namespace emotune {
namespace {

using testing::completion;
using testing::LoopbackServer;

EndpointConfig endpoint(const std::string& url) {
  EndpointConfig e;
  e.base_url = url;
  e.model = "test-model";
  e.api_key_env = "EMOTUNE_TEST_API_KEY";
  e.timeout_s = 0.5;
  e.max_retries = 6;
  e.backoff_initial_s = 0.01;
  e.backoff_max_s = 0.05;
  return e;
}

TEST(ChatClient, SurvivesRateLimitServerErrorSlownessAndMalformedJson) {
  LoopbackServer server([](int64_t n, const httplib::Request&, httplib::Response& res) {
    switch (n) {
      case 1: res.status = 429, res.set_header("Retry-After", "0"), res.set_content("{\"error\":\"slow down\"}", "application/json"); break;
      case 2: res.status = 500, res.set_content("internal", "text/plain"); break;
      case 3: std::this_thread::sleep_for(std::chrono::milliseconds(1500)), res.set_content(completion("late"), "application/json"); break;
      case 4: res.set_content("{\"choices\": [ {\"message\": ", "application/json"); break;  // malformed JSON
      case 5: res.set_content("{\"choices\": []}", "application/json"); break;               // JSON, but no completion
      default: res.set_content(completion("awe", 12, 3), "application/json");
    }
  });
  ChatClient client(endpoint(server.base_url()), "dpt.target_endpoint", 1);
  auto reply = client.complete(client.request_body(nlohmann::json::array({{{"role", "user"}, {"content", "hi"}}}), 0));
  EXPECT_EQ(reply.text, "awe");
  EXPECT_EQ(reply.prompt_tokens, 12);
  EXPECT_EQ(reply.completion_tokens, 3);
  EXPECT_EQ(client.retries(), 5);
  EXPECT_EQ(server.requests(), 6);
}

TEST(ChatClient, GivesUpWithAClearErrorAfterMaxRetries) {
  LoopbackServer server([](int64_t, const httplib::Request&, httplib::Response& res) { res.status = 503, res.set_content("overloaded", "text/plain"); });
  auto e = endpoint(server.base_url());
  e.max_retries = 2;
  ChatClient client(e, "dpt.proposer_endpoint", 1);
  try {
    client.complete(client.request_body(nlohmann::json::array(), 0));
    FAIL() << "expected an error";
  } catch (const Error& err) {
    std::string m = err.what();
    EXPECT_NE(m.find("dpt.proposer_endpoint"), std::string::npos) << m;
    EXPECT_NE(m.find("giving up after 3 attempts"), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP 503"), std::string::npos) << m;
  }
  EXPECT_EQ(server.requests(), 3);
}

TEST(ChatClient, UnauthorizedFailsAtOnceAndNeverShowsTheKey) {
  ::setenv("EMOTUNE_TEST_API_KEY", "sk-test-secret-4242", 1);
  std::string seen_auth;
  LoopbackServer server([&](int64_t, const httplib::Request& req, httplib::Response& res) {
    seen_auth = req.get_header_value("Authorization");
    res.status = 401;
    res.set_content("{\"error\": \"invalid key " + seen_auth + "\"}", "application/json");  // a server that echoes it
  });
  ChatClient client(endpoint(server.base_url()), "dpt.target_endpoint", 1);
  try {
    client.complete(client.request_body(nlohmann::json::array(), 0));
    FAIL() << "expected an error";
  } catch (const Error& err) {
    std::string m = err.what();
    EXPECT_EQ(m.find("sk-test-secret-4242"), std::string::npos) << m;
    EXPECT_NE(m.find("HTTP 401"), std::string::npos) << m;
    EXPECT_NE(m.find("EMOTUNE_TEST_API_KEY"), std::string::npos) << m;
  }
  EXPECT_EQ(seen_auth, "Bearer sk-test-secret-4242");
  EXPECT_EQ(server.requests(), 1);
  ::unsetenv("EMOTUNE_TEST_API_KEY");
}

TEST(ChatClient, RejectsABadBaseUrlByKey) {
  auto e = endpoint("ftp://example.org");
  try {
    ChatClient client(e, "dpt.proposer_endpoint", 1);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("dpt.proposer_endpoint.base_url"), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace emotune
