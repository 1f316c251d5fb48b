// Files that are either completely written or not there at all: write to a temporary file beside the target,
// fsync it, rename over the target, fsync the directory. A crash at any point leaves the old file intact.
#pragma once
#include <string>
#include <string_view>

namespace emotune {

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);
void ensure_directory(const std::string& path);

}  // namespace emotune
