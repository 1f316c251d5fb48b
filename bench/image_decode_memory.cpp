// Peak memory of decoding one image to the bundle's input size, the reduced path (data/image.h: header size
// first, libjpeg's scaled decode, shrinking in the stored depth) against the exact float path that every image
// took before issue 34 (finding 2). Peak RSS is per process, so each run decodes once:
//   build/emotune_image_memory FILE reduced|exact [SIDE]
// prints the process's peak RSS before and after the decode and the decode's wall time (docs/benchmarks.md).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"
#include "data/image.h"

namespace {
long peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (std::strcmp(argv[2], "reduced") != 0 && std::strcmp(argv[2], "exact") != 0)) {
    std::fprintf(stderr, "usage: %s FILE reduced|exact [SIDE]\n", argv[0]);
    return 2;
  }
  const int64_t side = argc > 3 ? std::stoll(argv[3]) : 64;
  emotune::ImageSpec spec{side, side, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}, {}};
  spec.decoding.max_pixels = 0;
  if (std::strcmp(argv[2], "exact") == 0) spec.decoding.reduce_above_pixels = std::numeric_limits<int64_t>::max();
  const long before = peak_rss_mb();
  const auto start = std::chrono::steady_clock::now();
  try {
    auto pixels = emotune::load_image(argv[1], spec);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s %s: peak RSS %ld MB before, %ld MB after; %.0f ms; mean pixel %.4f\n", argv[1], argv[2], before,
                peak_rss_mb(), ms, pixels.mean().item<double>());
  } catch (const emotune::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
