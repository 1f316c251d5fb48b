// SentencePiece-style BPE (vlm/bpe_metaspace.h) on a hand-built tokenizer.json: where the "▁" prefix goes
// (every stretch with the older normalizer, the first with Metaspace's prepend_scheme first), Metaspace's
// split, byte fallback and <unk>, the decoders, a long stretch through the merges, and errors naming the key.
// The real vocabulary is checked against a reference in test_llama_tokenizer_parity.cpp.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>

#include "core/error.h"
#include "vlm/bpe_tokenizer.h"

namespace emotune {
namespace {

const std::string kSpace = "\xE2\x96\x81";  // ▁

// <unk> <s> </s>, the 256 <0xXX> pieces (3..258), then a few pieces with the merges that make them.
nlohmann::json tokenizer(bool byte_pieces = true) {
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; byte_pieces && b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  for (const auto& piece : {kSpace, std::string("a"), std::string("b"), std::string("h"), std::string("i")}) vocab[piece] = 300 + vocab.size();
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [left, right] : std::vector<std::pair<std::string, std::string>>{
           {kSpace, kSpace}, {kSpace, "a"}, {kSpace, "b"}, {"h", "i"}, {kSpace, "hi"}, {"a", "a"}, {"aa", "aa"}}) {
    vocab[left + right] = 300 + vocab.size();
    merges.push_back({left, right});
  }
  nlohmann::json added = nlohmann::json::array();
  for (int id = 0; id < 3; ++id) added.push_back({{"id", id}, {"content", id == 0 ? "<unk>" : id == 1 ? "<s>" : "</s>"}, {"special", true}});
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"unk_token", "<unk>"}, {"fuse_unk", true}, {"byte_fallback", byte_pieces}}},
          {"added_tokens", added},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", kSpace}},
                                                                {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpace}}}}}},
          {"pre_tokenizer", nullptr},
          {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", kSpace}}}, {"content", " "}},
                                                          {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}}};
}

nlohmann::json with_metaspace(nlohmann::json j, const std::string& scheme, bool split) {
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", kSpace}, {"prepend_scheme", scheme}, {"split", split}};
  return j;
}

std::unique_ptr<Tokenizer> load(const nlohmann::json& j) { return parse_bpe_tokenizer(j.dump(), "t.json"); }
int64_t id(const Tokenizer& tok, const std::string& piece) {
  for (int64_t i = 0; i < tok.size(); ++i)
    if (tok.piece(i) == piece) return i;
  throw std::runtime_error("no piece " + piece);
}

TEST(SentencePieceBpe, OlderNormalizerPrependsToEveryStretchBetweenAddedTokens) {
  auto tok = load(tokenizer());
  const auto hi = id(*tok, kSpace + "hi");
  EXPECT_EQ(tok->encode("hi<s>hi"), (std::vector<int64_t>{hi, 1, hi}));
  EXPECT_EQ(tok->decode(tok->encode("hi<s>hi")), "hi<s> hi");  // as the library: the second "▁" stays a space
  EXPECT_EQ(tok->encode(" hi"), (std::vector<int64_t>{id(*tok, kSpace + kSpace), id(*tok, "hi")}));  // "▁▁hi": "▁ ▁" ranks first
  EXPECT_EQ(tok->decode(tok->encode(" hi  ")), " hi  ");
  EXPECT_TRUE(tok->encode("").empty());
}

TEST(SentencePieceBpe, MetaspacePrependsByItsScheme) {
  auto first = load(with_metaspace(tokenizer(), "first", false));
  const auto hi = id(*first, kSpace + "hi"), plain_hi = id(*first, "hi");
  EXPECT_EQ(first->encode("hi<s>hi"), (std::vector<int64_t>{hi, 1, plain_hi}));
  EXPECT_EQ(first->encode("<s>hi"), (std::vector<int64_t>{1, plain_hi}));
  EXPECT_EQ(first->encode(" hi"), (std::vector<int64_t>{hi}));  // no second "▁" before one already there
  auto always = load(with_metaspace(tokenizer(), "always", false));
  EXPECT_EQ(always->encode("hi<s>hi"), (std::vector<int64_t>{hi, 1, hi}));
  auto never = load(with_metaspace(tokenizer(), "never", false));
  EXPECT_EQ(never->encode("hi"), (std::vector<int64_t>{plain_hi}));
}

TEST(SentencePieceBpe, MetaspaceSplitStartsAWordAtEveryReplacement) {
  auto whole = load(with_metaspace(tokenizer(), "always", false));
  auto split = load(with_metaspace(tokenizer(), "always", true));
  // "▁a▁▁b": as one word "▁▁" (rank 0) merges first; split into "▁a" "▁" "▁b" it cannot.
  EXPECT_EQ(whole->encode("a  b"), (std::vector<int64_t>{id(*whole, kSpace + "a"), id(*whole, kSpace + kSpace), id(*whole, "b")}));
  EXPECT_EQ(split->encode("a  b"), (std::vector<int64_t>{id(*split, kSpace + "a"), id(*split, kSpace), id(*split, kSpace + "b")}));
}

TEST(SentencePieceBpe, UnknownCharactersFallBackToBytesOrOneUnk) {
  auto tok = load(tokenizer());
  EXPECT_EQ(tok->encode("\xC3\xA9"), (std::vector<int64_t>{id(*tok, kSpace), 3 + 0xC3, 3 + 0xA9}));  // é
  EXPECT_EQ(tok->decode(tok->encode("h\xC3\xA9 \xF0\x9F\x98\x80!")), "h\xC3\xA9 \xF0\x9F\x98\x80!");
  EXPECT_EQ(tok->encode("\xFF"), (std::vector<int64_t>{id(*tok, kSpace), 3 + 0xFF}));  // a stray byte stands alone
  EXPECT_EQ(tok->decode({3 + 0xFF, 3 + 0xC3}), "\xEF\xBF\xBD\xEF\xBF\xBD");          // invalid UTF-8: U+FFFD per byte
  auto no_bytes = load(tokenizer(false));
  EXPECT_EQ(no_bytes->encode("h\xC3\xA9\xC3\xA9i"), (std::vector<int64_t>{id(*no_bytes, kSpace), id(*no_bytes, "h"), 0, id(*no_bytes, "i")}));
  auto unfused = tokenizer(false);
  unfused["model"]["fuse_unk"] = false;
  EXPECT_EQ(load(unfused)->encode("\xC3\xA9\xC3\xA9").size(), 3u);  // ▁ <unk> <unk>
}

TEST(SentencePieceBpe, MetaspaceDecoderDropsTheFirstTokensReplacements) {
  auto j = with_metaspace(tokenizer(), "always", true);
  j["decoder"] = {{"type", "Metaspace"}, {"replacement", kSpace}, {"prepend_scheme", "always"}, {"split", true}};
  auto tok = load(j);
  EXPECT_EQ(tok->decode({id(*tok, kSpace + kSpace), id(*tok, kSpace + "a")}), " a");  // as the library does
  EXPECT_EQ(tok->decode(tok->encode("hi a")), "hi a");
}

TEST(SentencePieceBpe, ALongStretchMergesInLinearithmicTime) {
  auto tok = load(tokenizer());
  const auto ids = tok->encode(std::string(400001, 'a'));  // one word of 400,002 symbols
  ASSERT_EQ(ids.size(), 100001u);
  EXPECT_EQ(ids.front(), id(*tok, kSpace + "a"));
  EXPECT_EQ(ids[1], id(*tok, "aaaa"));
}

TEST(SentencePieceBpe, BadFilesAreErrorsNamingTheFileAndKey) {
  auto expect_error = [](const nlohmann::json& j, const std::string& where) {
    try {
      load(j);
      ADD_FAILURE() << "no error for " << where;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  };
  auto j = tokenizer();
  j["normalizer"]["normalizers"][1]["pattern"] = {{"Regex", "\\s"}};
  expect_error(j, "t.json: normalizer.normalizers[1].pattern");
  j = tokenizer(), j["decoder"]["decoders"][3] = {{"type", "WordPiece"}};
  expect_error(j, "t.json: decoder.decoders[3]: \"WordPiece\"");
  j = tokenizer(), j["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(j, "t.json: pre_tokenizer");
  j = tokenizer(), j["model"]["unk_token"] = "<oov>";
  expect_error(j, "t.json: model.unk_token");
  j = tokenizer(), j["model"]["merges"][0] = {kSpace, "z"};
  expect_error(j, "t.json: model.merges[0]");
  j = with_metaspace(tokenizer(), "sometimes", false);
  expect_error(j, "t.json: pre_tokenizer.prepend_scheme");
}

}  // namespace
}  // namespace emotune
