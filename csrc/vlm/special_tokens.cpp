#include "vlm/special_tokens.h"

#include <algorithm>

#include "core/error.h"

namespace emotune {

void SpecialTokens::add(const std::string& text, int64_t id, const std::string& source) {
  if (text.empty()) raise(source, ": special token ", id, " is the empty string (it would match everywhere)");
  if (!by_text_.emplace(text, id).second) return;
  ids_.insert(id);
  auto& bucket = by_first_byte_[static_cast<unsigned char>(text[0])];
  bucket.emplace_back(text, id);
  std::stable_sort(bucket.begin(), bucket.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::optional<int64_t> SpecialTokens::id_of(const std::string& text) const {
  auto it = by_text_.find(text);
  if (it == by_text_.end()) return std::nullopt;
  return it->second;
}

const std::pair<std::string, int64_t>* SpecialTokens::match_at(const std::string& text, size_t at) const {
  for (const auto& token : by_first_byte_[static_cast<unsigned char>(text[at])])
    if (text.compare(at, token.first.size(), token.first) == 0) return &token;
  return nullptr;
}

std::vector<int64_t> SpecialTokens::encode(const std::string& text, const PlainEncoder& encode_plain) const {
  std::vector<int64_t> ids;
  size_t start = 0;
  for (size_t at = 0; at < text.size();) {
    const auto* special = by_text_.empty() ? nullptr : match_at(text, at);
    if (!special) {
      ++at;
      continue;
    }
    if (at > start) encode_plain(text.substr(start, at - start), ids);
    ids.push_back(special->second);
    at += special->first.size();
    start = at;
  }
  if (start < text.size()) encode_plain(text.substr(start), ids);
  return ids;
}

}  // namespace emotune
