// What a dataset knows about its own optimum: an affect world (`emotune synth`, docs/affect-world.md) writes
// world.json beside its manifest with the Bayes-optimal accuracy of each split, the Bayes MSE of its valence and
// arousal ratings and, with synthetic users, each user's Bayes limit and the accuracy of the best rule that ignores
// the user. Evaluation, personalisation
// and discrete tuning print these next to their results; they read them here, never from the generator.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace emotune {

struct UserLimits {
  double bayes = -1;        // the user's Bayes-optimal accuracy
  double global_rule = -1;  // the best accuracy of a rule that ignores who the user is
};

class WorldFacts {
 public:
  // An empty fact sheet (a dataset that is not an affect world).
  WorldFacts() = default;
  // Reads world.json; `source` names it in errors (a malformed file is an error, not a silent "unknown").
  static WorldFacts parse(const std::string& json_text, const std::string& source);

  std::optional<double> split_bayes(const std::string& split) const;
  std::optional<UserLimits> user_limits(const std::string& user, const std::string& split) const;
  // The lowest mean squared error any predictor from the image reaches on a split's ratings (synth/world_dimensions.h).
  std::optional<double> dimension_bayes_mse(const std::string& split, const std::string& dimension) const;

 private:
  std::map<std::string, double> split_bayes_;
  std::map<std::pair<std::string, std::string>, UserLimits> users_;  // (user, split)
  std::map<std::pair<std::string, std::string>, double> dimension_bayes_mse_;  // (split, dimension)
};

// The facts of the dataset whose manifest is `manifest_path` (world.json in its directory); empty when there
// is no world.json.
WorldFacts read_world_facts(const std::string& manifest_path);

}  // namespace emotune
