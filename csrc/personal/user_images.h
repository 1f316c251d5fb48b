// The images of each user: which training images fit a user's prompt or head, which are held out for early
// stopping, and which are tested. The split itself (30% of each user's images train, paper 000 §IV-A) is
// fixed in the manifest, where `emotune prepare` (Affection) or `emotune synth --users` persisted it; the
// held-out part of the training images is a seeded choice per user.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

class ImageFeatures;

struct UserImages {
  std::string user;
  std::vector<int64_t> fit, holdout;  // indices into the training split's images
  std::vector<int64_t> test;          // indices into the evaluation split's images
};

// Users in order of first appearance in the training split (only those in `only`, when given; a listed user
// without training images is an error). A row without a user is an error naming its manifest line.
std::vector<UserImages> group_images_by_user(const ImageFeatures& train, const ImageFeatures& test,
                                             const std::vector<std::string>& only, double holdout_fraction,
                                             uint64_t seed);

}  // namespace emotune
