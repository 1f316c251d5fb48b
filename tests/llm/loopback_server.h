// A real HTTP server on 127.0.0.1 for the tests of the OpenAI-compatible client: each request is answered
// by a scripted handler that sees the request's number (1, 2, …) and body.
#pragma once
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace emotune::testing {

class LoopbackServer {
 public:
  using Handler = std::function<void(int64_t number, const httplib::Request&, httplib::Response&)>;
  explicit LoopbackServer(Handler handler) : handler_(std::move(handler)) {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      int64_t n;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        bodies_.push_back(req.body);
        n = static_cast<int64_t>(bodies_.size());
      }
      handler_(n, req, res);
    });
    server_.set_tcp_nodelay(true);  // as production HTTP servers do; keep-alive clients would otherwise wait on delayed ACKs
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int64_t requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(bodies_.size());
  }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
};

// A chat completion whose answer is `text`.
inline std::string completion(const std::string& text, int64_t prompt_tokens = 10, int64_t completion_tokens = 5) {
  nlohmann::json j = {{"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}}}},
                      {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}}}};
  return j.dump();
}

}  // namespace emotune::testing
