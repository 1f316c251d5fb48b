// `emotune tokenize`: token ids of text, one JSON string per input line -> one JSON array per output line.
// The parity check against Hugging Face's tokenizers library (scripts/export/check_bpe_tokenizer.py) and
// anyone debugging a prompt's tokens use it.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "vlm/bpe_tokenizer.h"

namespace emotune {

void register_tokenize_command(CLI::App& app) {
  struct Args {
    std::string file, kind = "bpe";
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("tokenize", "encode text read from stdin (one JSON string per line) into token ids (one JSON array per line)");
  cmd->add_option("--tokenizer", a->file, "tokenizer file (a Hugging Face tokenizer.json, or a sentencepiece model)")->required();
  cmd->add_option("--kind", a->kind, "bpe or sentencepiece")->check(CLI::IsMember({"bpe", "sentencepiece"}))->capture_default_str();
  cmd->callback([a] {
    auto tokenizer = a->kind == "bpe" ? load_bpe_tokenizer(a->file) : load_sentencepiece_tokenizer(a->file);
    std::string line;
    for (int64_t number = 1; std::getline(std::cin, line); ++number) {
      auto text = nlohmann::json::parse(line, nullptr, false);
      if (text.is_discarded() || !text.is_string()) raise("stdin:", number, ": expected a JSON string");
      std::cout << nlohmann::json(tokenizer->encode(text.get<std::string>())).dump() << "\n";
    }
  });
}

}  // namespace emotune
