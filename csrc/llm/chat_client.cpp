#include "llm/chat_client.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace emotune {

ChatClient::ChatClient(EndpointConfig config, std::string role, uint64_t seed)
    : config_(std::move(config)), role_(std::move(role)), rng_(seed) {
  const auto& url = config_.base_url;
  if (url.empty()) raise("config key '", role_, ".base_url' is empty (expected e.g. https://api.openai.com/v1)");
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0))
    raise("config key '", role_, ".base_url': expected an http:// or https:// URL, got '", url, "'");
  auto path_start = url.find('/', scheme_end + 3);
  scheme_host_port_ = url.substr(0, path_start);
  path_ = (path_start == std::string::npos ? "" : url.substr(path_start));
  while (!path_.empty() && path_.back() == '/') path_.pop_back();
  path_ += "/chat/completions";
  if (config_.model.empty()) raise("config key '", role_, ".model' is empty");
  if (!config_.api_key_env.empty()) {
    const char* key = std::getenv(config_.api_key_env.c_str());
    if (key) api_key_ = key;
  }
}

ChatClient::~ChatClient() = default;

std::unique_ptr<httplib::Client> ChatClient::acquire_connection() {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto http = std::make_unique<httplib::Client>(scheme_host_port_);
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::duration<double>(config_.timeout_s));
  http->set_connection_timeout(timeout);
  http->set_read_timeout(timeout);
  http->set_write_timeout(timeout);
  http->set_keep_alive(true);
  http->set_tcp_nodelay(true);  // headers and body go out as separate writes: no Nagle/delayed-ACK stall on reuse
  return http;
}

void ChatClient::release_connection(std::unique_ptr<httplib::Client> connection) {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  idle_.push_back(std::move(connection));
}

std::string ChatClient::request_body(const nlohmann::json& messages, int64_t seed) const {
  nlohmann::json body = {{"model", config_.model}, {"messages", messages}, {"temperature", config_.temperature},
                         {"max_tokens", config_.max_tokens}, {"seed", seed}};
  return body.dump();  // nlohmann::json orders keys: canonical
}

double ChatClient::price_usd(const ChatReply& r) const {
  return 1e-6 * (static_cast<double>(r.prompt_tokens) * config_.usd_per_million_prompt_tokens +
                 static_cast<double>(r.completion_tokens) * config_.usd_per_million_completion_tokens);
}

double ChatClient::backoff_seconds(int attempt) {
  double cap = std::min(config_.backoff_max_s, config_.backoff_initial_s * std::pow(2.0, attempt));
  std::lock_guard<std::mutex> lock(rng_mutex_);
  return std::uniform_real_distribution<double>(0.0, cap)(rng_);  // full jitter
}

std::string ChatClient::redact(std::string text) const {
  if (api_key_.size() >= 4)
    for (size_t at; (at = text.find(api_key_)) != std::string::npos;) text.replace(at, api_key_.size(), "[redacted]");
  return text;
}

ChatReply ChatClient::complete(const std::string& body) {
  auto http = acquire_connection();
  // Back to the pool however this call ends (an answer, or an error raised below).
  struct Return {
    ChatClient* self;
    std::unique_ptr<httplib::Client>& connection;
    ~Return() { self->release_connection(std::move(connection)); }
  } give_back{this, http};
  httplib::Headers headers;
  if (!api_key_.empty()) headers.emplace("Authorization", "Bearer " + api_key_);
  std::string last_problem;
  for (int attempt = 0;; ++attempt) {
    double retry_after = -1;
    auto res = http->Post(path_, headers, body, "application/json");
    if (!res) {
      last_problem = concat("no answer (", httplib::to_string(res.error()), ")");
    } else if (res->status == 200) {
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      const nlohmann::json* content = nullptr;
      if (!j.is_discarded() && j.contains("choices") && j["choices"].is_array() && !j["choices"].empty() &&
          j["choices"][0].contains("message") && j["choices"][0]["message"].contains("content") &&
          j["choices"][0]["message"]["content"].is_string())
        content = &j["choices"][0]["message"]["content"];
      if (content) {
        ChatReply reply{content->get<std::string>()};
        if (j.contains("usage") && j["usage"].is_object()) {
          reply.prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
          reply.completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
        }
        return reply;
      }
      last_problem = concat("malformed chat completion: ", res->body.substr(0, 200));
    } else if (res->status == 429 || res->status >= 500) {
      last_problem = concat("HTTP ", res->status, ": ", res->body.substr(0, 200));
      if (res->has_header("Retry-After")) retry_after = std::atof(res->get_header_value("Retry-After").c_str());
    } else {
      raise(role_, " (", scheme_host_port_, path_, "): HTTP ", res->status, ": ", redact(res->body.substr(0, 300)),
            res->status == 401 ? concat(" (is $", config_.api_key_env, " set to a valid key?)") : "");
    }
    if (attempt >= config_.max_retries)
      raise(role_, " (", scheme_host_port_, path_, "): giving up after ", attempt + 1, " attempts; last: ", redact(last_problem));
    ++retries_;
    double wait = retry_after >= 0 ? std::min(retry_after, config_.backoff_max_s) : backoff_seconds(attempt);
    std::fprintf(stderr, "%s: %s; retry %d in %.2f s\n", role_.c_str(), redact(last_problem).c_str(), attempt + 1, wait);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

}  // namespace emotune
