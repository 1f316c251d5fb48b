#include "vlm/bpe_merges.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <queue>

#include "core/error.h"

namespace emotune {
namespace {

int64_t id_in(const BpeVocab& vocab, const std::string& token, const std::string& where, const std::string& merge) {
  auto it = vocab.find(token);
  if (it == vocab.end()) raise(where, ": '", merge, "' needs '", token, "', which is not in model.vocab");
  return it->second;
}

}  // namespace

BpeMerges::BpeMerges(const nlohmann::json& merges, const BpeVocab& vocab, const std::string& path) {
  if (!merges.is_array()) raise(path, ": model.merges is missing");
  int64_t rank = 0;
  for (const auto& m : merges) {
    const std::string where = concat(path, ": model.merges[", rank, "]");
    std::string a, b;
    if (m.is_string()) {
      auto s = m.get<std::string>();
      auto space = s.find(' ');
      if (space == std::string::npos) raise(where, ": '", s, "' is not 'left right'");
      a = s.substr(0, space), b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>(), b = m[1].get<std::string>();
    } else {
      raise(where, ": expected \"a b\" or [a, b]");
    }
    const std::string merge = a + " " + b;
    merges_[key(id_in(vocab, a, where, merge), id_in(vocab, b, where, merge))] = {rank++, id_in(vocab, a + b, where, merge)};
  }
}

void BpeMerges::apply(std::vector<int64_t>& symbols) const {
  const size_t n = symbols.size();
  if (n < 2 || merges_.empty()) return;
  constexpr size_t kNone = SIZE_MAX;
  std::vector<size_t> prev(n), next(n);
  std::vector<bool> merged_away(n, false);
  for (size_t i = 0; i < n; ++i) prev[i] = i == 0 ? kNone : i - 1, next[i] = i + 1 < n ? i + 1 : kNone;

  struct Candidate {
    int64_t rank;
    size_t left;  // the left symbol's position in the original word: leftmost first among equal ranks
  };
  auto later = [](const Candidate& x, const Candidate& y) { return x.rank != y.rank ? x.rank > y.rank : x.left > y.left; };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  auto merge_of = [&](size_t left) -> const Merge* {
    if (left == kNone || next[left] == kNone) return nullptr;
    auto it = merges_.find(key(symbols[left], symbols[next[left]]));
    return it == merges_.end() ? nullptr : &it->second;
  };
  auto offer = [&](size_t left) {
    if (const Merge* m = merge_of(left)) queue.push({m->rank, left});
  };
  for (size_t i = 0; i + 1 < n; ++i) offer(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    if (merged_away[top.left]) continue;
    const Merge* m = merge_of(top.left);
    if (!m || m->rank != top.rank) continue;  // stale: a neighbour merged since (a rank names one pair)
    const size_t right = next[top.left];
    symbols[top.left] = m->id;
    merged_away[right] = true;
    next[top.left] = next[right];
    if (next[right] != kNone) prev[next[right]] = top.left;
    offer(prev[top.left]);
    offer(top.left);
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i)
    if (!merged_away[i]) symbols[kept++] = symbols[i];
  symbols.resize(kept);
}

}  // namespace emotune
