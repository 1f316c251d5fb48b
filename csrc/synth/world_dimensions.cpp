#include "synth/world_dimensions.h"

#include <random>

#include "core/rng.h"
#include "synth/affect_world.h"

namespace emotune {

namespace {
// c_d(e) in world_emotions() order: amusement, awe, contentment, excitement, anger, disgust, fear, sadness.
constexpr double kCentroids[kWorldDimensions][8] = {
    {7.5, 6.5, 7.0, 7.5, 2.5, 2.5, 2.5, 2.5},  // valence
    {5.5, 5.5, 3.0, 7.0, 7.0, 5.0, 7.5, 3.0},  // arousal
};
constexpr double kSlopes[kWorldDimensions] = {3.0, 3.0};  // s_d per unit of brightness / colorfulness
constexpr double kNoiseSd = 0.5;                           // σ
constexpr uint64_t kStream = 0xD1A4u;                      // the ratings' own stream, apart from the image's
}  // namespace

const std::array<std::string, kWorldDimensions>& world_dimension_names() {
  static const std::array<std::string, kWorldDimensions> names{"valence", "arousal"};
  return names;
}

WorldRatings draw_world_ratings(uint64_t seed, int64_t image, size_t label, const std::vector<double>& p, const WorldAspects& aspects) {
  std::mt19937_64 rng(mix_seed(seed, kStream, static_cast<uint64_t>(image)));
  std::normal_distribution<double> noise(0.0, kNoiseSd);
  const double x[kWorldDimensions] = {aspects.brightness, aspects.colorfulness};
  WorldRatings r;
  for (size_t d = 0; d < kWorldDimensions; ++d) {
    r.values[d] = kCentroids[d][label] + kSlopes[d] * (x[d] - 0.5) + noise(rng);
    double mean = 0, second = 0;  // of c_d(e) under p(e | a)
    for (size_t e = 0; e < p.size(); ++e) mean += p[e] * kCentroids[d][e], second += p[e] * kCentroids[d][e] * kCentroids[d][e];
    r.bayes_variance[d] = second - mean * mean + kNoiseSd * kNoiseSd;
  }
  return r;
}

void WorldRatingSums::add(size_t split, const WorldRatings& r) {
  auto& s = splits_.at(split);
  ++s.n;
  for (size_t d = 0; d < kWorldDimensions; ++d)
    s.bayes[d] += r.bayes_variance[d], s.sum[d] += r.values[d], s.sum_sq[d] += r.values[d] * r.values[d];
}

nlohmann::json WorldRatingSums::to_json(const std::vector<std::string>& split_names) const {
  nlohmann::json centroids = nlohmann::json::object(), slopes = nlohmann::json::object();
  for (size_t d = 0; d < kWorldDimensions; ++d) {
    centroids[world_dimension_names()[d]] = std::vector<double>(kCentroids[d], kCentroids[d] + 8);
    slopes[world_dimension_names()[d]] = kSlopes[d];
  }
  nlohmann::json j = {{"names", world_dimension_names()}, {"centroids", centroids}, {"aspects", {{"valence", "brightness"}, {"arousal", "colorfulness"}}},
                      {"slopes", slopes}, {"noise_sd", kNoiseSd}, {"splits", nlohmann::json::object()}};
  for (size_t k = 0; k < splits_.size() && k < split_names.size(); ++k) {
    const auto& s = splits_[k];
    if (s.n == 0) continue;
    const double n = static_cast<double>(s.n);
    for (size_t d = 0; d < kWorldDimensions; ++d) {
      const double mean = s.sum[d] / n;
      j["splits"][split_names[k]][world_dimension_names()[d]] = {{"bayes_mse", s.bayes[d] / n}, {"variance", s.sum_sq[d] / n - mean * mean},
                                                                 {"mean", mean}};
    }
  }
  return j;
}

}  // namespace emotune
