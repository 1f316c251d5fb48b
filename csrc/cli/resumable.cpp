#include <cstdio>

#include "cli/commands.h"
#include "llm/call_meter.h"

namespace emotune {

void run_resumable(const char* command, const std::function<void()>& body) {
  try {
    body();
  } catch (const RunStopped& stop) {
    // A clean stop: the cache holds every answered call; exit 75 (EX_TEMPFAIL) tells scripts to rerun.
    std::fprintf(stderr, "\nemotune %s: %s\n", command, stop.what());
    throw CLI::RuntimeError(75);
  }
}

}  // namespace emotune
