// The affect world: a seeded, procedurally drawn image dataset whose emotion labels depend on several visual
// aspects through a known table p(emotion | aspects), so the Bayes-optimal accuracy of every split is known
// and MASP's claims can be checked against a known optimum (docs/affect-world.md).
//
// Each image: a drawn scene (background), one or two objects, maybe a person doing something (stick figures),
// maybe a face with an expression, then global lighting and saturation (synth/world_drawing.h). Brightness
// and colorfulness are *measured* on the saved pixels (synth/image_stats.h). The label is drawn from
// softmax(κ · (s_scene + Σ s_object + s_expression + s_action + s_brightness_bin + s_colorfulness_bin)) over
// the 8 Mikels emotions; every term is comparable in size, so no single aspect decides the label and label
// noise remains. All six MASP aspects are thus under control.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "synth/world_sequences.h"
#include "synth/world_users.h"

namespace emotune {

struct WorldOptions {
  std::string out_dir;
  int64_t images = 600;
  int64_t size = 96;
  uint64_t seed = 1;
  double train_fraction = 0.7, val_fraction = 0.1;  // the rest is test
  double sharpness = 2.5;                           // κ: larger means less label noise (2.5: Bayes ≈ 62%)
  double face_probability = 0.5, action_probability = 0.5;  // an image shows a face / a person acting
  // Synthetic users (synth/world_users.h): 0 = none. Image i belongs to user i mod users; labels come from
  // that user's table, and each user's images are split on their own (user_train_fraction train, …).
  int64_t users = 0;
  double user_spread = 0.6;
  double user_train_fraction = 0.3, user_val_fraction = 0.0;
  // Sequences with emotional inertia over the images (synth/world_sequences.h; Lantern): 0 = none.
  SequenceOptions sequences;
};

struct SplitSummary {
  std::string name;
  int64_t images = 0;
  double bayes_accuracy = 0;  // E[max_e p(e | aspects)] over the split's images
};

struct UserSummary {
  std::string id;
  std::vector<UserSplitSummary> splits;  // train, val, test
};

struct WorldSummary {
  std::vector<SplitSummary> splits;
  std::vector<UserSummary> users;
  std::vector<SequenceSplitSummary> sequences;  // empty: no sequences
  std::string manifest;
};

const std::vector<std::string>& world_emotions();
const std::vector<std::string>& world_scenes();
const std::vector<std::string>& world_objects();
const std::vector<std::string>& world_expressions();  // EmoSet's facial_expression values
const std::vector<std::string>& world_actions();

// What an image shows, as indices into the lists above (-1: no face / no person); brightness and
// colorfulness as annotated (in [0,1]).
struct WorldAspects {
  int scene = 0;
  std::vector<int> objects;
  int expression = -1, action = -1;
  double brightness = 0.5, colorfulness = 0.5;
};
// p(emotion | aspects) of the world's table (or of one user's, given their taste).
std::vector<double> emotion_distribution(const WorldAspects& aspects, double sharpness, const UserTaste* taste = nullptr);

// Writes images/, manifest.jsonl and world.json (the table, the splits and their Bayes limits).
WorldSummary synthesize_world(const WorldOptions& options);

}  // namespace emotune
