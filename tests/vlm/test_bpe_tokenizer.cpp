// Byte-level BPE on a hand-built tokenizer.json: merges by rank, added tokens, Qwen2's pre-tokenisation
// regex (digits one by one, contractions, newlines), NFC, and an exact round trip of arbitrary UTF-8.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <random>

#include "core/error.h"
#include "vlm/bpe_tokenizer.h"

namespace emotune {
namespace {

const char* kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The 256 byte characters (ids 0..255, in GPT-2's table order), then merged pieces, then added tokens.
std::string tokenizer_json(bool nfc) {
  std::vector<std::string> chars;
  uint32_t next = 256;
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else s += static_cast<char>(0xC0 | (cp >> 6)), s += static_cast<char>(0x80 | (cp & 0x3F));
    return s;
  };
  for (uint32_t b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    chars.push_back(utf8(printable ? b : next++));
  }
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t b = 0; b < 256; ++b) vocab[chars[b]] = b;
  // Merges: "h e" -> "he", "l l" -> "ll", "he ll" -> "hell", "hell o" -> "hello", "Ġ w" -> "Ġw" (Ġ = space)
  const std::vector<std::pair<std::string, std::string>> merges{{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "w"}};
  int64_t id = 256;
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [a, b] : merges) vocab[a + b] = id++, merge_list.push_back(a + " " + b);
  nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
                      {"added_tokens", {{{"id", 300}, {"content", "<|im_start|>"}, {"special", true}},
                                        {{"id", 301}, {"content", "<|im_end|>"}, {"special", true}}}},
                      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", kQwen2Pattern}}}, {"behavior", "Isolated"}},
                                                                                  {{"type", "ByteLevel"}, {"use_regex", false}}}}}}};
  if (nfc) j["normalizer"] = {{"type", "NFC"}};
  return j.dump();
}

TEST(BpeTokenizer, MergesByRankAndCutsAddedTokensFirst) {
  auto tok = parse_bpe_tokenizer(tokenizer_json(false), "tokenizer.json");
  // "hello" -> hello (260); " world" -> "Ġw" (261) + o r l d; added tokens are single ids.
  EXPECT_EQ(tok->encode("hello"), (std::vector<int64_t>{259}));
  auto ids = tok->encode("<|im_start|>hello world<|im_end|>");
  EXPECT_EQ(ids, (std::vector<int64_t>{300, 259, 260, 'o', 'r', 'l', 'd', 301}));
  EXPECT_EQ(tok->decode(ids), "<|im_start|>hello world<|im_end|>");
  EXPECT_EQ(tok->piece(259), "hello");
}

TEST(BpeTokenizer, PreTokenisesLikeQwen2) {
  auto tok = parse_bpe_tokenizer(tokenizer_json(false), "tokenizer.json");
  // Digits one at a time (\p{N}): "123" is three pieces even if a merge existed; "'s" is its own piece;
  // without merges every byte is one id, so the id count is the byte count when nothing merges.
  EXPECT_EQ(tok->encode("123").size(), 3u);
  EXPECT_EQ(tok->encode("he's").size(), 3u);  // "he" | "'s" -> he(256) ' s
  EXPECT_EQ(tok->encode("he's")[0], 256);
  // " hello" is one regex piece; "Ġ h" has no merge, the rest merges by rank into "hello".
  EXPECT_EQ(tok->encode(" hello").size(), 2u);
  EXPECT_EQ(tok->encode(" hello")[1], 259);
}

TEST(BpeTokenizer, RoundTripsArbitraryUtf8Exactly) {
  auto tok = parse_bpe_tokenizer(tokenizer_json(false), "tokenizer.json");
  const std::vector<std::string> samples{"", "hello world", "  two  spaces\n\nand\ttabs\r\n", "Ünïcödé ñ 日本語 😀🎉",
                                         "mixed123numbers456", "<|im_end|><|im_start|>", "it's I'M they'll", "\x01\x02 control"};
  for (const auto& s : samples) EXPECT_EQ(tok->decode(tok->encode(s)), s) << s;
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> len(0, 40), cp(1, 0x2FFF);
  for (int n = 0; n < 500; ++n) {
    std::string s;
    for (int k = len(rng); k > 0; --k) {
      uint32_t c = static_cast<uint32_t>(cp(rng));
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      if (c < 0x80) s += static_cast<char>(c);
      else if (c < 0x800) s += static_cast<char>(0xC0 | (c >> 6)), s += static_cast<char>(0x80 | (c & 0x3F));
      else s += static_cast<char>(0xE0 | (c >> 12)), s += static_cast<char>(0x80 | ((c >> 6) & 0x3F)), s += static_cast<char>(0x80 | (c & 0x3F));
    }
    ASSERT_EQ(tok->decode(tok->encode(s)), s);
  }
}

TEST(BpeTokenizer, NormalisesToNfcWhenTheFileSaysSo) {
  auto plain = parse_bpe_tokenizer(tokenizer_json(false), "tokenizer.json");
  auto nfc = parse_bpe_tokenizer(tokenizer_json(true), "tokenizer.json");
  const std::string decomposed = "e\xCC\x81";  // e + combining acute
  EXPECT_EQ(plain->encode(decomposed).size(), 3u);
  EXPECT_EQ(nfc->decode(nfc->encode(decomposed)), "\xC3\xA9");  // é, precomposed
  const std::string with_nul("a\0b", 3);  // normalised by length: U+0000 does not end the text
  EXPECT_EQ(nfc->decode(nfc->encode(with_nul)), with_nul);
}

TEST(BpeTokenizer, BadFilesAreErrorsNamingTheFileAndKey) {
  try {
    parse_bpe_tokenizer("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "bundle/tokenizer.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bundle/tokenizer.json: model.merges"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_bpe_tokenizer("not json", "t.json"), Error);
}

}  // namespace
}  // namespace emotune
