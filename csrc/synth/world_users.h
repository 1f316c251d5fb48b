// Synthetic users of the affect world (issue 7): the same image moves different people differently, so each
// user u has their own table p_u(emotion | aspects), a documented perturbation of the global one:
//
//   s_u = s + δ_u[scene] + Σ_objects δ_u[object],   δ_u[value][emotion] ~ N(0, spread²), seeded per user,
//
// i.e. every user re-weighs what each scene and each object means to them (a roller coaster is excitement for
// one, fear for another); brightness and colorfulness keep their global meaning. Because every p_u is known,
// each user's Bayes limit is known, and so is how well the best *non-personal* predictor (argmax of the global
// table) does for that user: the room personalisation has (docs/affect-world.md, "Users").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct UserTaste {
  std::string id;                                  // "u00", "u01", …
  std::vector<std::vector<double>> scene_offsets;  // [scene][emotion], logit units before κ
  std::vector<std::vector<double>> object_offsets; // [object][emotion]
};

UserTaste make_user_taste(uint64_t world_seed, int64_t user, double spread);
std::string user_id(int64_t user);

// Per-user split of `count` images (paper 000 §IV-A: 30% of each user's images train): a seeded permutation,
// the first round(train · n) images train, the next round(val · n) validation, the rest test.
std::vector<int> user_split_of_images(int64_t count, double train_fraction, double val_fraction, uint64_t seed,
                                      const std::string& user);

struct UserSplitSummary {
  int64_t images = 0;
  double bayes_accuracy = 0;      // E[max_e p_u(e | a)]
  double global_rule_accuracy = 0;  // E[p_u(argmax_e p(e | a) | a)]: the best predictor that ignores the user
};

}  // namespace emotune
