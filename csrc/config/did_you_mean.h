#pragma once
#include <string>
#include <vector>

namespace emotune {

size_t edit_distance(const std::string& a, const std::string& b);
// The candidate nearest to `word`, or "" when none is close enough to be a plausible typo.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" for the nearest candidate, or "" (for the end of an error message).
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace emotune
