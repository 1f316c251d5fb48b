// A write killed between its temporary file and the rename leaves ".<name>.tmp.<pid>" behind; a later run
// removes those of dead processes and nothing else (issue 34, finding 9).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "test_support.h"

namespace emotune {
namespace {

pid_t a_dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

TEST(AtomicFile, OrphanedTemporariesOfDeadWritersAreRemovedOnly) {
  namespace fs = std::filesystem;
  auto dir = testing::scratch_dir("run");
  const std::string dead = dir + "/.checkpoint.safetensors.tmp." + std::to_string(a_dead_pid());
  const std::string alive = dir + "/.metrics.jsonl.tmp." + std::to_string(::getpid());
  const std::string users = dir + "/notes.tmp.12345";      // not one of ours: no leading dot
  const std::string odd = dir + "/.resume.safetensors.tmp.x1";  // not a pid
  for (const auto& f : {dead, alive, users, odd}) std::ofstream(f) << "partial";
  write_file_atomic(dir + "/checkpoint.safetensors", "whole");
  EXPECT_EQ(remove_orphaned_temporaries(dir), 1);
  EXPECT_FALSE(fs::exists(dead));
  for (const auto& f : {alive, users, odd, dir + "/checkpoint.safetensors"}) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_EQ(remove_orphaned_temporaries(dir + "/missing"), 0) << "a run directory not made yet holds nothing";
}

}  // namespace
}  // namespace emotune
