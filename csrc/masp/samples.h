// Training/evaluation samples derived from the kept rows of a split.
#pragma once
#include <string>
#include <vector>

#include "masp/image_features.h"

namespace emotune {

// One image–aspect pair of stage 1 (paper §Stage 1: "a single image–aspect pair is sampled").
struct AspectSample {
  int64_t image = 0;
  int64_t aspect = 0;
  std::string answer;
};

struct EmotionSample {
  int64_t image = 0;
  int64_t label = 0;
};

// One sample per present aspect of every image (absent or empty aspects are skipped, as in the reference).
std::vector<AspectSample> make_aspect_samples(const ImageFeatures& images, const std::vector<std::string>& aspects,
                                              bool skip_zero_values);
// A label outside `labels` is an error naming the manifest line.
std::vector<EmotionSample> make_emotion_samples(const ImageFeatures& images, const std::vector<std::string>& labels);

}  // namespace emotune
