#include "prepare/cross_split_duplicates.h"

#include <filesystem>
#include <functional>
#include <map>
#include <set>

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
    // Only hashes are kept (a group of same-sized files may be large); bytes are compared again on a match.
    std::map<size_t, std::vector<std::string>> by_hash;
    for (const auto& image : images) by_hash[std::hash<std::string>{}(read_file(image))].push_back(image);
    for (const auto& [hash, same] : by_hash)
      for (size_t i = 0; i < same.size(); ++i)
        for (size_t j = i + 1; j < same.size(); ++j) {
          if (read_file(same[i]) != read_file(same[j])) continue;  // a hash collision, not a copy
          for (const auto& sa : splits_of[same[i]])
            for (const auto& sb : splits_of[same[j]])
              if (sa != sb) out.push_back({same[i], sa, same[j], sb});
        }
  }
  return out;
}

}  // namespace emotune
