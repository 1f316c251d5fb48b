#include "data/aspect_answer.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace emotune {
namespace {
std::string normalise(std::string s) {
  std::replace(s.begin(), s.end(), '_', ' ');
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

std::string brightness_bin(double v) {
  static const char* kBins[] = {"very low", "low", "moderate", "high", "very high"};
  int bin = std::min(4, static_cast<int>(v / 0.2 + 1e-9));  // 1.0 belongs to the last bin
  return kBins[std::max(0, bin)];
}

std::optional<std::string> aspect_answer(const nlohmann::json& value, bool skip_zero, const std::string& where,
                                         const std::string& aspect) {
  if (value.is_null()) return std::nullopt;
  if (value.is_number()) {
    double v = value.get<double>();
    if (!(v >= 0.0 && v <= 1.0)) raise(where, ": aspect '", aspect, "' = ", v, " is outside [0, 1]");
    if (skip_zero && v == 0.0) return std::nullopt;
    return brightness_bin(v);
  }
  if (value.is_string()) {
    auto s = normalise(value.get<std::string>());
    if (s.empty()) return std::nullopt;
    return s;
  }
  if (value.is_array()) {
    std::string joined;
    for (const auto& item : value) {
      if (!item.is_string()) raise(where, ": aspect '", aspect, "' must be a list of strings");
      auto s = normalise(item.get<std::string>());
      if (!s.empty()) joined += (joined.empty() ? "" : ", ") + s;
    }
    if (joined.empty()) return std::nullopt;
    return joined;
  }
  raise(where, ": aspect '", aspect, "' must be a string, a list of strings or a number in [0, 1]");
}

}  // namespace emotune
