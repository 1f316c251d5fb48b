#include "prepare/cross_split_duplicates.h"

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include "core/atomic_file.h"

namespace emotune {
namespace fs = std::filesystem;

std::vector<CrossSplitDuplicate> find_cross_split_duplicates(const std::vector<PreparedRow>& rows) {
  std::map<std::string, std::set<std::string>> splits_of;  // image path -> its splits
  for (const auto& r : rows) splits_of[r.image].insert(r.split);
  std::map<uintmax_t, std::vector<std::string>> by_size;
  for (const auto& [image, splits] : splits_of) {
    std::error_code ec;
    const auto size = fs::file_size(image, ec);
    if (!ec) by_size[size].push_back(image);
  }
  std::vector<CrossSplitDuplicate> out;
  for (const auto& [size, images] : by_size) {
    if (images.size() < 2) continue;
    std::map<size_t, std::vector<std::pair<std::string, std::string>>> by_hash;  // hash -> (path, bytes)
    for (const auto& image : images) {
      auto bytes = read_file(image);
      by_hash[std::hash<std::string_view>{}(bytes)].emplace_back(image, std::move(bytes));
    }
    for (const auto& [hash, same] : by_hash)
      for (size_t i = 0; i < same.size(); ++i)
        for (size_t j = i + 1; j < same.size(); ++j) {
          if (same[i].second != same[j].second) continue;  // a hash collision, not a copy
          const auto& a = splits_of[same[i].first];
          const auto& b = splits_of[same[j].first];
          for (const auto& sa : a)
            for (const auto& sb : b)
              if (sa != sb) out.push_back({same[i].first, sa, same[j].first, sb});
        }
  }
  return out;
}

}  // namespace emotune
