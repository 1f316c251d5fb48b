// One fuzz target per parser of untrusted input (issue 34). A target takes the raw bytes; a parser may answer
// bad input only with emotune::Error (a clear message naming the file): any other exception, a crash, a leak
// or a hang is a finding. Each target builds two ways:
//   - with libFuzzer (scripts/fuzz.sh; clang, AddressSanitizer + UndefinedBehaviorSanitizer), where the macro
//     defines LLVMFuzzerTestOneInput;
//   - into emotune_fuzz_replay (the ordinary build), which runs every file of tests/fuzz/corpus/<target>/
//     through it as a ctest test (Fuzz.<target>), so what fuzzing found stays fixed.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace emotune::fuzz {

using TargetBody = void (*)(const std::string& input);
bool register_target(const char* name, TargetBody body);

// Writes `content` to `name` in this process's scratch directory (parsers that take a path) and returns the
// path. Plain writes: the atomic-file machinery is not what is fuzzed here.
std::string scratch_file(const std::string& name, const std::string& content);
// The part of `input` before the first NUL byte, and after it (empty when there is none): targets that take
// two inputs (a YAML file and --set lines) split one byte string this way.
std::pair<std::string, std::string> split_at_nul(const std::string& input);

}  // namespace emotune::fuzz

#ifdef EMOTUNE_LIBFUZZER
#define EMOTUNE_FUZZ_TARGET(name)                                                      \
  static void fuzz_body_##name(const std::string& input);                              \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {            \
    try {                                                                              \
      fuzz_body_##name(std::string(reinterpret_cast<const char*>(data), size));        \
    } catch (const emotune::Error&) {                                                  \
    }                                                                                  \
    return 0;                                                                          \
  }                                                                                    \
  static void fuzz_body_##name(const std::string& input)
#else
#define EMOTUNE_FUZZ_TARGET(name)                                                                  \
  static void fuzz_body_##name(const std::string& input);                                          \
  [[maybe_unused]] static const bool fuzz_registered_##name =                                      \
      emotune::fuzz::register_target(#name, fuzz_body_##name);                                     \
  static void fuzz_body_##name(const std::string& input)
#endif
