// Stateless randomness: every random choice in training (data order, template draws, initialisations) is a
// pure function of (seed, purpose, indices). A resumed run therefore needs no saved RNG state and makes
// exactly the choices the uninterrupted run made.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0);
// A stable 64-bit hash of a string (FNV-1a), for seeding by name (a label, a user id) on every machine.
uint64_t string_seed(const std::string& s);
// A permutation of 0..n-1 determined by (seed, stream).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, uint64_t stream);
// Sets the process-wide LibTorch seed and thread count; call before any tensor work.
void init_torch_runtime(uint64_t seed, int threads);

}  // namespace emotune
