// The merges of a tokenizer.json's BPE model (model.merges), applied as Hugging Face's tokenizers applies them:
// of the adjacent pairs that have a merge, the one of lowest rank merges first (the leftmost among equal
// ranks), the merged symbol pairs anew with its neighbours, until no listed merge applies. A heap of candidate
// pairs over a linked list of symbols keeps that O(n log n) in the word's length: a SentencePiece-style
// segment (LLaMA, Mistral) is one word however long it is.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace emotune {

using BpeVocab = std::unordered_map<std::string, int64_t>;

class BpeMerges {
 public:
  // `merges` lists "left right" strings or [left, right] pairs, rank by position. Both sides and what they
  // merge into must be in `vocab` (the library refuses such a file too); errors name `path` and
  // model.merges[i]. A pair listed twice keeps its last rank, as in the library.
  BpeMerges(const nlohmann::json& merges, const BpeVocab& vocab, const std::string& path);

  // The symbols (ids) of one word, merged in place.
  void apply(std::vector<int64_t>& symbols) const;

 private:
  struct Merge {
    int64_t rank;
    int64_t id;  // what the pair becomes
  };
  // Ids are below 2^32 (the tokenizer bounds them by the file's token count).
  static uint64_t key(int64_t left, int64_t right) { return static_cast<uint64_t>(left) << 32 | static_cast<uint32_t>(right); }

  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace emotune
