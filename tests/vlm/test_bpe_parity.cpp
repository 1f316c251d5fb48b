// Parity of the C++ byte-level BPE tokenizer with Hugging Face's `tokenizers` library: a tokenizer.json with
// Qwen2's normalizer, pre-tokenizer and chat tokens, and the ids the library gave 3,000 varied strings
// (tests/fixtures/qwen2_like_bpe/README.md says how both were made).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "vlm/bpe_tokenizer.h"

namespace emotune {
namespace {

TEST(BpeTokenizer, MatchesTheTokenizersLibraryOnAQwen2StyleVocabulary) {
  const std::string dir = std::string(EMOTUNE_SOURCE_DIR) + "/tests/fixtures/qwen2_like_bpe/";
  auto tok = load_bpe_tokenizer(dir + "tokenizer.json");
  std::ifstream in(dir + "expected_ids.jsonl");
  ASSERT_TRUE(in) << dir << "expected_ids.jsonl";
  std::string line;
  int lines = 0, differ = 0;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    const auto text = row["text"].get<std::string>();
    const auto expected = row["ids"].get<std::vector<int64_t>>();
    ++lines;
    if (tok->encode(text) != expected && ++differ <= 5) ADD_FAILURE() << "ids differ for " << row["text"].dump();
  }
  EXPECT_EQ(lines, 3000);
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace emotune
