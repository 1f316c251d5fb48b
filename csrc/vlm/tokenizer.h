// Text ↔ token ids. One interface so that byte-level BPE (Qwen2) can sit beside sentencepiece.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace emotune {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual std::string piece(int64_t id) const = 0;
  // The id of the special token spelled exactly `text` (an added token of a tokenizer.json; a control,
  // user-defined or unknown piece of a SentencePiece model), or nullopt. Chat markers are looked up here, never
  // through encode(), whose dummy prefix would put a "▁" before them (vlm/special_tokens.h).
  virtual std::optional<int64_t> special_token_id(const std::string& text) const = 0;
  virtual int64_t size() const = 0;
};

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path);

}  // namespace emotune
