#include "masp/samples.h"

#include "config/did_you_mean.h"
#include "core/error.h"
#include "data/aspect_answer.h"

namespace emotune {

std::vector<AspectSample> make_aspect_samples(const ImageFeatures& images, const std::vector<std::string>& aspects,
                                              bool skip_zero_values) {
  std::vector<AspectSample> out;
  for (int64_t i = 0; i < images.size(); ++i) {
    const auto& row = images.rows()[static_cast<size_t>(i)];
    for (size_t a = 0; a < aspects.size(); ++a) {
      if (!row.aspects.contains(aspects[a])) continue;
      auto answer = aspect_answer(row.aspects[aspects[a]], skip_zero_values, images.manifest().where(row), aspects[a]);
      if (answer) out.push_back({i, static_cast<int64_t>(a), *answer});
    }
  }
  return out;
}

std::vector<EmotionSample> make_emotion_samples(const ImageFeatures& images, const std::vector<std::string>& labels) {
  std::vector<EmotionSample> out;
  for (int64_t i = 0; i < images.size(); ++i) {
    const auto& row = images.rows()[static_cast<size_t>(i)];
    auto it = std::find(labels.begin(), labels.end(), row.label);
    if (it == labels.end()) {
      raise(images.manifest().where(row), ": label '", row.label, "' is not in data.labels", suggestion(row.label, labels));
    }
    out.push_back({i, static_cast<int64_t>(it - labels.begin())});
  }
  return out;
}

}  // namespace emotune
