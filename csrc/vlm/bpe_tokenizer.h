// Byte-level BPE (GPT-2 / Qwen2 family) read from a Hugging Face tokenizer.json, beside the sentencepiece
// tokenizer (bundle.yaml: tokenizer.kind: bpe). The pipeline, as the tokenizers library runs it:
//   1. added tokens ("<|im_start|>", …) are cut out first, longest match wins, and map to their ids;
//   2. the rest is normalised (NFC, via utf8proc, when the file's normalizer says so);
//   3. pre-tokenised by the file's Split regex (PCRE2 with Unicode properties, \s as Oniguruma's; GPT-2's
//      pattern for a bare ByteLevel pre-tokenizer);
//   4. each piece's bytes become the printable "byte-level" characters, and adjacent symbols are merged
//      by merge rank until no listed merge applies; symbols map to ids through the vocabulary.
// decode() reverses 4 and concatenates added tokens verbatim.
#pragma once
#include <memory>
#include <string>

#include "vlm/tokenizer.h"

namespace emotune {

// `path` names the file in errors; `json_text` is its content.
std::unique_ptr<Tokenizer> parse_bpe_tokenizer(const std::string& json_text, const std::string& path);
std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::string& path);

}  // namespace emotune
