// Files that are either completely written or not there at all: write to a temporary file beside the target,
// fsync it, rename over the target, fsync the directory. A crash at any point leaves the old file intact.
#pragma once
#include <string>
#include <string_view>

namespace emotune {

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);
void ensure_directory(const std::string& path);
// Removes the ".<name>.tmp.<pid>" files write_file_atomic left in `dir` when process <pid> was killed mid-write
// and is gone (a live writer's are kept); returns how many. Runs call it on their run directory at start.
int remove_orphaned_temporaries(const std::string& dir);

}  // namespace emotune
