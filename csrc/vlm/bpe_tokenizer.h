// BPE read from a Hugging Face tokenizer.json (bundle.yaml: tokenizer.kind: bpe), of either kind the file
// says it is (no bundle key): byte-level (GPT-2 / Qwen2 family) or SentencePiece-style (LLaMA / Mistral
// family: byte fallback, "▁" for spaces; vlm/bpe_metaspace.h). The byte-level pipeline, as the tokenizers
// library runs it:
//   1. added tokens ("<|im_start|>", …) are cut out first, longest match wins, and map to their ids;
//   2. the rest is normalised (NFC, via utf8proc, when the file's normalizer says so);
//   3. pre-tokenised by the file's Split regex (PCRE2 with Unicode properties, \s as Oniguruma's; GPT-2's
//      pattern for a bare ByteLevel pre-tokenizer);
//   4. each piece's bytes become the printable "byte-level" characters, and adjacent symbols are merged
//      by merge rank until no listed merge applies (vlm/bpe_merges.h); symbols map to ids through the vocabulary.
// decode() reverses 4 and concatenates added tokens verbatim. The SentencePiece-style kind shares 1 and the
// merges, and runs the file's normalizer, Metaspace pre-tokenizer, byte fallback and decoder instead.
#pragma once
#include <memory>
#include <string>

#include "vlm/tokenizer.h"

namespace emotune {

// `path` names the file in errors; `json_text` is its content.
std::unique_ptr<Tokenizer> parse_bpe_tokenizer(const std::string& json_text, const std::string& path);
std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::string& path);

}  // namespace emotune
