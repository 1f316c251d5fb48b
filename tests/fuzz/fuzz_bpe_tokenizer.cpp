// A Hugging Face tokenizer.json (byte-level BPE, vlm/bpe_tokenizer.h), and text through it. Input: the JSON,
// a NUL byte, the text.
#include <cstdlib>

#include "fuzz_target.h"
#include "vlm/bpe_tokenizer.h"

EMOTUNE_FUZZ_TARGET(bpe_tokenizer) {
  using namespace emotune;
  auto [json, text] = fuzz::split_at_nul(input);
  auto tokenizer = parse_bpe_tokenizer(json, "tokenizer.json");
  auto ids = tokenizer->encode(text);
  for (auto id : ids)
    if (id < 0 || id >= tokenizer->size()) std::abort();
  tokenizer->decode(ids);
  tokenizer->special_token_id(text);
}
