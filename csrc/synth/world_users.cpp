#include "synth/world_users.h"

#include <cmath>
#include <cstdio>
#include <random>

#include "core/rng.h"

namespace emotune {
namespace {
constexpr int64_t kEmotions = 8, kScenes = 6, kObjects = 6;
constexpr uint64_t kUserStream = 0x55534552;  // "USER"

std::vector<std::vector<double>> draw_offsets(std::mt19937_64& rng, int64_t rows, double spread) {
  std::normal_distribution<double> normal(0.0, spread);
  std::vector<std::vector<double>> out(static_cast<size_t>(rows), std::vector<double>(kEmotions));
  for (auto& row : out)
    for (auto& v : row) v = normal(rng);
  return out;
}
}  // namespace

std::string user_id(int64_t user) {
  char id[16];
  std::snprintf(id, sizeof id, "u%02lld", static_cast<long long>(user));
  return id;
}

UserTaste make_user_taste(uint64_t world_seed, int64_t user, double spread) {
  std::mt19937_64 rng(mix_seed(world_seed, kUserStream, static_cast<uint64_t>(user)));
  UserTaste t;
  t.id = user_id(user);
  t.scene_offsets = draw_offsets(rng, kScenes, spread);
  t.object_offsets = draw_offsets(rng, kObjects, spread);
  return t;
}

std::vector<int> user_split_of_images(int64_t count, double train_fraction, double val_fraction, uint64_t seed,
                                      const std::string& user) {
  auto order = seeded_permutation(count, seed, string_seed("split:" + user));
  const auto train = static_cast<int64_t>(std::llround(train_fraction * static_cast<double>(count)));
  const auto val = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(count)));
  std::vector<int> split(static_cast<size_t>(count), 2);
  for (int64_t rank = 0; rank < count; ++rank)
    split[static_cast<size_t>(order[static_cast<size_t>(rank)])] = rank < train ? 0 : rank < train + val ? 1 : 2;
  return split;
}

}  // namespace emotune
