// A client for OpenAI-compatible chat-completions endpoints (POST {base_url}/chat/completions), used both to
// propose prompts (an LLM) and as a black-box target (a vision model, images inline as data URLs).
//
// Transient failures — HTTP 429 and 5xx, connection errors, time-outs, and a 200 whose body is not a
// chat completion (malformed JSON) — are retried up to max_retries times with exponential back-off and full
// jitter (delay = uniform(0, min(max, initial · 2^attempt)), or the server's Retry-After when it sends one).
// Other 4xx answers (401 bad key, 400 bad request) fail at once. The API key is read from the environment
// variable the config names; it is sent as a bearer token and redacted from every message.
#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"

namespace httplib {
class Client;
}

namespace emotune {

struct ChatReply {
  std::string text;
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

class ChatClient {
 public:
  // `role` names the endpoint in errors ("dpt.proposer_endpoint").
  ChatClient(EndpointConfig config, std::string role, uint64_t seed);
  ~ChatClient();

  // The request body for `messages` (OpenAI format), canonical: the same messages give the same bytes, so
  // the body is the cache key. `seed` is sent as the request's seed (distinct proposals per step).
  std::string request_body(const nlohmann::json& messages, int64_t seed) const;
  ChatReply complete(const std::string& body);  // thread-safe

  int64_t retries() const { return retries_; }
  double price_usd(const ChatReply& reply) const;
  const EndpointConfig& config() const { return config_; }
  const std::string& role() const { return role_; }

 private:
  double backoff_seconds(int attempt);
  // Idle keep-alive connections, one per concurrent caller at most: thousands of calls reuse a few
  // connections (and TLS sessions) instead of opening one each.
  std::unique_ptr<httplib::Client> acquire_connection();
  void release_connection(std::unique_ptr<httplib::Client> connection);
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
  std::string redact(std::string text) const;
  EndpointConfig config_;
  std::string role_, scheme_host_port_, path_, api_key_;
  std::atomic<int64_t> retries_{0};
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
};

}  // namespace emotune
