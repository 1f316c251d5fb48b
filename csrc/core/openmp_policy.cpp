#include "core/openmp_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace emotune {

void restart_with_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  // /proc/self/exe is this very binary, wherever argv[0] points; argv keeps its terminating null (C++ [basic.start.main]).
  execv("/proc/self/exe", argv);
}

}  // namespace emotune
