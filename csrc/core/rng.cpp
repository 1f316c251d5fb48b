#include "core/rng.h"

#include <torch/torch.h>

#include <numeric>
#include <random>

namespace emotune {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
  return splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ a) ^ b) ^ c);
}

uint64_t string_seed(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 gen(mix_seed(seed, 0x5045524dull, stream));
  // Fisher-Yates with our own draws: std::shuffle's algorithm is implementation-defined.
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(gen() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

void init_torch_runtime(uint64_t seed, int threads) {
  if (threads > 0) torch::set_num_threads(threads);
  // LibTorch accepts the inter-op pool size once per process, before any parallel work.
  static bool interop_set = false;
  if (!interop_set) {
    interop_set = true;
    try {
      torch::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // already started by earlier work in this process: keep LibTorch's choice
    }
  }
  torch::manual_seed(seed);
}

}  // namespace emotune
