// Errors a user can act on. Every error emotune raises for bad input names where the problem is (a file, a
// line, a config key) and what was expected; `raise` builds the message from its pieces.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace emotune {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <typename... Parts>
[[noreturn]] void raise(const Parts&... parts) {
  throw Error(concat(parts...));
}

}  // namespace emotune
