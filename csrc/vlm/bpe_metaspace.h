// SentencePiece-style BPE in a Hugging Face tokenizer.json (LLaMA, Mistral, LLaVA-v1.6-Mistral): "▁" (U+2581)
// stands for a space, no byte-level mapping, and characters outside the vocabulary become <0xXX> byte tokens
// (model.byte_fallback) or <unk>. Each stretch of text between added tokens (vlm/special_tokens.h) goes
// through, as the tokenizers library runs it:
//   1. the normalizer: older files Sequence[Prepend("▁"), Replace(" " -> "▁")], so every stretch, also one
//      after an added token, gets a leading "▁";
//   2. the pre-tokenizer: none (the whole stretch is one word), or newer files' Metaspace (spaces to "▁", a
//      "▁" prepended unless the stretch starts with one: prepend_scheme always, first (only for the stretch
//      that starts the text) or never; with split, a new word before every "▁");
//   3. per word: each character's id, or its UTF-8 bytes' <0xXX> ids, or <unk> (consecutive ones fused with
//      model.fuse_unk; a character with neither is dropped, as in the library); then the merges by rank.
// Decoding runs the file's decoder over the tokens' strings, added tokens included, as the library does:
// typically Sequence[Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", 1, 0)] (<0xXX> runs back to UTF-8,
// one U+FFFD per byte of an invalid run; the one leading space stripped), or a Metaspace decoder.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vlm/bpe_merges.h"

namespace emotune {

class SentencePieceBpe {
 public:
  // `j` is the whole tokenizer.json, `vocab` its model.vocab (for the <0xXX> and <unk> ids). Errors name `path`
  // and the key.
  SentencePieceBpe(const nlohmann::json& j, const BpeVocab& vocab, const std::string& path);

  // Appends the ids of `stretch`, text between added tokens; `starts_text` when nothing comes before it.
  void encode(const std::string& stretch, bool starts_text, const BpeVocab& vocab, const BpeMerges& merges,
              std::vector<int64_t>& ids) const;
  // The text of `tokens`, the pieces of the ids to decode.
  std::string decode(std::vector<std::string> tokens) const;

  struct Metaspace {  // a Metaspace pre-tokenizer's or decoder's settings
    enum class Prepend { kAlways, kFirst, kNever };
    std::string replacement;
    Prepend prepend = Prepend::kAlways;
    bool split = true;
  };

 private:
  struct Replace {  // a normalizer step; Prepend is a Replace of nothing at the start
    bool prepend;
    std::string pattern, content;
  };
  struct DecodeStep {
    enum class Kind { kReplace, kByteFallback, kFuse, kStrip, kMetaspace } kind = Kind::kFuse;
    std::string pattern, content;  // Replace; Strip's content
    size_t start = 0, stop = 0;    // Strip
    Metaspace metaspace;
  };
  void add_normalizer(const nlohmann::json& node, const std::string& where);
  void add_decoder(const nlohmann::json& node, const std::string& where);
  std::vector<std::string> words(std::string text, bool starts_text) const;
  std::vector<int64_t> symbols(const std::string& word, const BpeVocab& vocab) const;

  std::vector<Replace> normalizer_;
  std::optional<Metaspace> metaspace_;
  std::optional<std::vector<DecodeStep>> decoder_;  // none: the tokens joined by spaces, as in the library
  std::array<int64_t, 256> byte_ids_{};  // <0xXX>, or -1 where the vocabulary lacks it
  bool byte_fallback_ = false;
  std::optional<int64_t> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
};

}  // namespace emotune
