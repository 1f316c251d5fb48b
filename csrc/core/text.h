// Small text helpers every layer shares (dataset converters, SEPM's queries, Lantern's prompts and answers).
#pragma once
#include <string>
#include <vector>

namespace emotune {

std::string trimmed(const std::string& s);        // without surrounding white space (space, tab, CR, LF)
std::string lower_trimmed(const std::string& s);  // trimmed, ASCII letters lower-cased
std::string joined(const std::vector<std::string>& parts, const std::string& separator = ", ");

}  // namespace emotune
