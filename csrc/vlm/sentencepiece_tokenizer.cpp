#include <sentencepiece_processor.h>

#include <filesystem>

#include "core/error.h"
#include "vlm/tokenizer.h"

namespace emotune {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) {
    if (!std::filesystem::exists(path)) raise(path, ": tokenizer file not found");
    auto status = sp_.Load(path);
    if (!status.ok()) raise(path, ": cannot load sentencepiece model: ", status.ToString());
  }
  std::vector<int64_t> encode(const std::string& text) const override {
    std::vector<int> ids;
    auto status = sp_.Encode(text, &ids);
    if (!status.ok()) raise("tokenizer: cannot encode text: ", status.ToString());
    return {ids.begin(), ids.end()};
  }
  std::string decode(const std::vector<int64_t>& ids) const override {
    std::vector<int> narrow(ids.begin(), ids.end());
    std::string text;
    auto status = sp_.Decode(narrow, &text);
    if (!status.ok()) raise("tokenizer: cannot decode ids: ", status.ToString());
    return text;
  }
  std::string piece(int64_t id) const override { return sp_.IdToPiece(static_cast<int>(id)); }
  int64_t size() const override { return sp_.GetPieceSize(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace emotune
