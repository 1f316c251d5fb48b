#include "dpt/prompt_target.h"

#include <openssl/evp.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "core/atomic_file.h"
#include "llm/chat_client.h"
#include "llm/parallel_for.h"
#include "eval/decode.h"
#include "masp/image_features.h"
#include "masp/sequence.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string mime_of(const std::string& path) {
  auto ext = lower(path.substr(path.find_last_of('.') + 1));
  if (ext == "png") return "image/png";
  if (ext == "webp") return "image/webp";
  return "image/jpeg";
}

class BundleTarget final : public PromptTarget {
 public:
  BundleTarget(const EmotuneConfig& c, FrozenVLM& vlm, ImageFeatures& images, CallMeter& meter)
      : config_(c), vlm_(vlm), images_(images), meter_(meter), builder_(vlm, layout_options(c)) {}

  std::vector<int64_t> predict(const std::string& prompt, const std::vector<int64_t>& images) override {
    const auto question = render_target_prompt(prompt, config_.dpt.answer_format, config_.data.labels);
    std::vector<int64_t> out(images.size(), -1);
    std::vector<size_t> missing;
    std::vector<std::string> keys(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
      const auto& row = images_.rows()[static_cast<size_t>(images[i])];
      nlohmann::json request = {{"target", "bundle"}, {"bundle", vlm_.spec().name}, {"question", question}, {"image", row.image}};
      keys[i] = call_key(request.dump(), images[i]);
      if (auto hit = meter_.cached(keys[i])) out[i] = label_in_answer(hit->text, config_.data.labels);
      else missing.push_back(i);
    }
    torch::NoGradGuard no_grad;
    const auto per_batch = std::max<int64_t>(1, config_.eval.batch_size / static_cast<int64_t>(config_.data.labels.size()));
    for (size_t lo = 0; lo < missing.size(); lo += static_cast<size_t>(per_batch)) {
      const size_t hi = std::min(missing.size(), lo + static_cast<size_t>(per_batch));
      std::vector<int64_t> ids;
      for (size_t k = lo; k < hi; ++k) meter_.before_new_call(), ids.push_back(images[missing[k]]);
      auto visual = images_.visual(ids);
      std::vector<SequenceSpec> specs;
      for (size_t k = 0; k < ids.size(); ++k)
        specs.push_back(builder_.image_question(torch::Tensor(), visual[static_cast<int64_t>(k)], torch::Tensor(), question, nullptr));
      auto best = score_candidates(vlm_, builder_, specs, config_.data.labels, config_.eval.batch_size).argmax(1);
      for (size_t k = lo; k < hi; ++k) {
        auto label = best[static_cast<int64_t>(k - lo)].item<int64_t>();
        meter_.record(keys[missing[k]], {config_.data.labels[static_cast<size_t>(label)]});
        out[missing[k]] = label;
      }
    }
    return out;
  }

 private:
  const EmotuneConfig& config_;
  FrozenVLM& vlm_;
  ImageFeatures& images_;
  CallMeter& meter_;
  SequenceBuilder builder_;
};

class ChatTarget final : public PromptTarget {
 public:
  ChatTarget(const EmotuneConfig& c, const std::vector<ManifestRow>& rows, CallMeter& meter)
      : config_(c), rows_(rows), meter_(meter), client_(c.dpt.target_endpoint, "dpt.target_endpoint", static_cast<uint64_t>(c.seed) ^ 0x7461u) {}

  std::vector<int64_t> predict(const std::string& prompt, const std::vector<int64_t>& images) override {
    const auto question = render_target_prompt(prompt, config_.dpt.answer_format, config_.data.labels);
    std::vector<int64_t> out(images.size(), -1);
    parallel_for(static_cast<int64_t>(images.size()), config_.dpt.concurrency, [&](int64_t i) {
      const auto& row = rows_.at(static_cast<size_t>(images[static_cast<size_t>(i)]));
      const std::string url = "data:" + mime_of(row.image) + ";base64," + base64(read_file(row.image));
      nlohmann::json messages = nlohmann::json::array(
          {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", question}}, {{"type", "image_url"}, {"image_url", {{"url", url}}}}}}}});
      const auto body = client_.request_body(messages, 0);
      auto record = meter_.call(call_key(body, images[static_cast<size_t>(i)]), [&] {
        auto reply = client_.complete(body);
        return CallRecord{reply.text, reply.prompt_tokens, reply.completion_tokens, client_.price_usd(reply)};
      });
      out[static_cast<size_t>(i)] = label_in_answer(record.text, config_.data.labels);
    });
    return out;
  }

 private:
  const EmotuneConfig& config_;
  const std::vector<ManifestRow>& rows_;
  CallMeter& meter_;
  ChatClient client_;
};

}  // namespace

std::string render_target_prompt(const std::string& prompt, const std::string& answer_format,
                                 const std::vector<std::string>& labels) {
  if (prompt.find("{labels}") != std::string::npos) return render_emotion_question(prompt, labels, LabelListStyle::Plain);
  return answer_format.empty() ? prompt : prompt + " " + render_emotion_question(answer_format, labels, LabelListStyle::Plain);
}

int64_t label_in_answer(const std::string& answer, const std::vector<std::string>& labels) {
  const auto text = lower(answer);
  auto is_word = [&](size_t at, size_t len) {
    auto edge = [&](size_t k) { return !std::isalpha(static_cast<unsigned char>(text[k])); };
    return (at == 0 || edge(at - 1)) && (at + len == text.size() || edge(at + len));
  };
  int64_t best = -1;
  size_t best_at = std::string::npos;
  for (size_t l = 0; l < labels.size(); ++l) {
    const auto word = lower(labels[l]);
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
      if (is_word(at, word.size())) {
        if (at < best_at) best_at = at, best = static_cast<int64_t>(l);
        break;
      }
  }
  return best;
}

std::unique_ptr<PromptTarget> make_prompt_target(const EmotuneConfig& c, const std::vector<ManifestRow>& rows, FrozenVLM* vlm,
                                                 ImageFeatures* images, CallMeter& meter) {
  if (c.dpt.target == "openai") return std::make_unique<ChatTarget>(c, rows, meter);
  if (!vlm || !images) raise("internal: the bundle target needs the bundle and the images' features");
  return std::make_unique<BundleTarget>(c, *vlm, *images, meter);
}

}  // namespace emotune
