#include "personal/user_images.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "config/did_you_mean.h"
#include "core/error.h"
#include "core/rng.h"
#include "masp/image_features.h"

namespace emotune {
namespace {

std::map<std::string, std::vector<int64_t>> images_of_users(const ImageFeatures& images, std::vector<std::string>* order) {
  std::map<std::string, std::vector<int64_t>> out;
  for (int64_t i = 0; i < images.size(); ++i) {
    const auto& row = images.rows()[static_cast<size_t>(i)];
    if (row.user.empty())
      raise(images.manifest().where(row), ": personalisation needs a \"user\" on every row of split '", row.split, "'");
    auto [it, inserted] = out.try_emplace(row.user);
    if (inserted && order) order->push_back(row.user);
    it->second.push_back(i);
  }
  return out;
}

}  // namespace

std::vector<UserImages> group_images_by_user(const ImageFeatures& train, const ImageFeatures& test,
                                             const std::vector<std::string>& only, double holdout_fraction,
                                             uint64_t seed) {
  std::vector<std::string> order;
  auto train_of = images_of_users(train, &order);
  auto test_of = images_of_users(test, nullptr);
  for (const auto& u : only)
    if (!train_of.count(u)) raise("config key 'personal.users': user '", u, "' has no training images", suggestion(u, order));
  std::vector<UserImages> out;
  for (const auto& user : order) {
    if (!only.empty() && std::find(only.begin(), only.end(), user) == only.end()) continue;
    UserImages u{user, {}, {}, test_of.count(user) ? test_of[user] : std::vector<int64_t>{}};
    const auto& all = train_of[user];
    const auto n = static_cast<int64_t>(all.size());
    // At least one image is held out when there are two or more, and at least one image is fitted.
    auto held = static_cast<int64_t>(std::llround(holdout_fraction * static_cast<double>(n)));
    if (holdout_fraction > 0 && n >= 2) held = std::clamp<int64_t>(held, 1, n - 1);
    auto perm = seeded_permutation(n, seed, string_seed("holdout:" + user));
    std::vector<bool> is_held(static_cast<size_t>(n), false);
    for (int64_t r = 0; r < held; ++r) is_held[static_cast<size_t>(perm[static_cast<size_t>(r)])] = true;
    for (int64_t k = 0; k < n; ++k) (is_held[static_cast<size_t>(k)] ? u.holdout : u.fit).push_back(all[static_cast<size_t>(k)]);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace emotune
