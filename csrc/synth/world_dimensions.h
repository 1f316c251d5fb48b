// Valence and arousal of the affect world's images: continuous ratings for the dimension head
// (dimensions/dimension_head.h), drawn so that the best achievable error is known (docs/affect-world.md).
//
//   d = c_d(e) + s_d · (x_d − 0.5) + ε,   ε ~ N(0, σ²)
//
// e is the image's drawn label, c_d(e) the emotion's centroid on a 1–9 scale like Emotion6's self-assessment
// manikin (emotune's choice in the spirit of Russell's circumplex: the positive emotions high in valence,
// excitement, anger and fear high in arousal, contentment and sadness low), x_d an annotated aspect (valence:
// brightness, arousal: colorfulness, both in [0, 1]) and s_d its slope. Given the aspects the rating's
// expectation is Σ_e p(e | a) c_d(e) + s_d (x_d − 0.5) and its variance
//
//   Var(d | a) = Σ_e p(e | a) (c_d(e) − Σ_e' p(e' | a) c_d(e'))² + σ²,
//
// so the mean of Var(d | a) over a split is the lowest mean squared error any predictor from the image can reach
// (the Bayes MSE written to world.json). In a world with users p is the image's user's table, so there the limit is
// that of a predictor that also knows the user (like each user's Bayes accuracy); one that ignores the user does worse. The noise comes from its own seeded stream per image, so adding the
// ratings changed no image, label or split of an existing world.
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct WorldAspects;

constexpr size_t kWorldDimensions = 2;
const std::array<std::string, kWorldDimensions>& world_dimension_names();  // valence, arousal

struct WorldRatings {
  std::array<double, kWorldDimensions> values{};          // the drawn ratings
  std::array<double, kWorldDimensions> bayes_variance{};  // Var(d | aspects)
};

// Image `image`'s ratings (label: its index in world_emotions(); p: p(emotion | aspects)).
WorldRatings draw_world_ratings(uint64_t seed, int64_t image, size_t label, const std::vector<double>& p, const WorldAspects& aspects);

// Per split: the mean Var(d | a) and the variance of the drawn ratings (the error of predicting the split's mean).
class WorldRatingSums {
 public:
  void add(size_t split, const WorldRatings& ratings);
  nlohmann::json to_json(const std::vector<std::string>& split_names) const;  // world.json's "dimensions"

 private:
  struct Sums {
    int64_t n = 0;
    std::array<double, kWorldDimensions> bayes{}, sum{}, sum_sq{};
  };
  std::array<Sums, 3> splits_{};
};

}  // namespace emotune
