// Special tokens: Hugging Face's added tokens ("<|im_start|>", "</s>") and SentencePiece's control and
// user-defined pieces. As the tokenizers library does, they are cut out of a text before the ordinary text is
// tokenised (longest match first) and map to their ids directly. So a chat marker is never seen by a text
// encoder that would add a dummy-prefix "▁" before it or, for a control piece such as Mistral's "</s>",
// never produce it at all (issue 34, finding 7).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace emotune {

class SpecialTokens {
 public:
  // `text` must not be empty (`source` names the file in the error). A text added twice keeps its first id.
  void add(const std::string& text, int64_t id, const std::string& source);
  std::optional<int64_t> id_of(const std::string& text) const;
  bool is_special(int64_t id) const { return ids_.count(id) > 0; }
  bool empty() const { return by_text_.empty(); }

  // The ids of `text`: special tokens by id, every stretch of ordinary text between them through
  // `encode_plain`, which appends its ids.
  using PlainEncoder = std::function<void(const std::string& plain, std::vector<int64_t>& ids)>;
  std::vector<int64_t> encode(const std::string& text, const PlainEncoder& encode_plain) const;

 private:
  // The longest special token that starts at `at`, or null.
  const std::pair<std::string, int64_t>* match_at(const std::string& text, size_t at) const;

  std::unordered_map<std::string, int64_t> by_text_;
  std::unordered_set<int64_t> ids_;
  // By first byte, each list longest first: a text is scanned once, trying only the tokens that can start there.
  std::array<std::vector<std::pair<std::string, int64_t>>, 256> by_first_byte_;
};

}  // namespace emotune
