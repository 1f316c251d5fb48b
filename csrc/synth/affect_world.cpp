#include "synth/affect_world.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/aspect_answer.h"
#include "synth/image_stats.h"
#include "synth/world_dimensions.h"
#include "synth/world_drawing.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
enum Emotion { kAmusement, kAwe, kContentment, kExcitement, kAnger, kDisgust, kFear, kSadness, kEmotions };
using Scores = std::array<double, kEmotions>;

// The table, in logit units before κ. Rows follow world_scenes() / world_objects() / the five bins.
const std::vector<Scores> kSceneScores = {
    {0.8, 0, 1.5, 0.5, 0, 0, 0, 0},      // beach
    {0, 1.5, 0.8, 0, 0, 0, 0.3, 0},      // forest
    {0, 0, 0, 0, 0.5, 0, 1.2, 0.8},      // night street
    {0, 0, 0.8, 0, 0, 0.6, 0, 0.8},      // room
    {0, 1.0, 0, 0, 0.8, 0, 1.0, 0},      // storm
    {1.2, 0, 0, 1.5, 0, 0, 0, 0},        // amusement park
};
const std::vector<Scores> kObjectScores = {
    {1.2, 0, 0, 0.6, 0, 0, 0, 0},        // balloon
    {0, 0.5, 1.0, 0, 0, 0, 0, 0},        // flower
    {0, 0, 0, 0, 0, 1.2, 1.0, 0},        // spider
    {0, 0, 0, 0, 1.2, 0, 0.8, 0},        // knife
    {0.6, 0, 0, 1.2, 0, 0, 0, 0},        // gift
    {0, 0.6, 0, 0, 0, 0, 0, 1.0},        // candle
};
const std::vector<Scores> kBrightnessScores = {
    {0, 0, 0, 0, 0, 0, 0.8, 1.0},        // very low
    {0, 0, 0, 0, 0, 0.4, 0, 0.5},        // low
    {0, 0, 0, 0, 0, 0, 0, 0},            // moderate
    {0.4, 0, 0.5, 0, 0, 0, 0, 0},        // high
    {0, 0.5, 0, 0.8, 0, 0, 0, 0},        // very high
};
const std::vector<Scores> kColorfulnessScores = {
    {0, 0, 0, 0, 0, 0.6, 0, 0.8},        // very low
    {0, 0, 0, 0, 0.3, 0, 0, 0},          // low
    {0, 0, 0, 0, 0, 0, 0, 0},            // moderate
    {0.5, 0, 0, 0, 0, 0, 0, 0},          // high
    {0.6, 0, 0, 0.8, 0, 0, 0, 0},        // very high
};

// Faces (world_expressions()) and actions (world_actions()) when present; absent ones add nothing.
const std::vector<Scores> kExpressionScores = {
    {0, 0, 0, 0, 1.2, 0.3, 0, 0},        // angry
    {0, 0, 0, 0, 0.4, 1.3, 0, 0},        // disgust
    {0, 0, 0, 0, 0, 0, 1.3, 0.3},        // fear
    {0.8, 0, 0.8, 0.4, 0, 0, 0, 0},      // happy
    {0, 0, 0, 0, 0, 0, 0.2, 1.3},        // sad
    {0.3, 0.8, 0, 0.9, 0, 0, 0, 0},      // surprise
};
const std::vector<Scores> kActionScores = {
    {0, 0, 0, 1.0, 0, 0, 0.4, 0},        // running
    {0, 0, 0.8, 0, 0, 0, 0, 0.4},        // sitting
    {0.5, 0, 0, 0, 0, 0, 0.9, 0.3},      // falling
    {0.6, 0, 1.0, 0, 0, 0, 0, 0.2},      // hugging
    {0, 0, 0, 0.3, 1.3, 0, 0.5, 0},      // fighting
};

int bin_of(double v) { return std::min(4, static_cast<int>(v / 0.2 + 1e-9)); }

}  // namespace

const std::vector<std::string>& world_emotions() {
  static const std::vector<std::string> v{"amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"};
  return v;
}
const std::vector<std::string>& world_scenes() {
  static const std::vector<std::string> v{"beach", "forest", "night street", "room", "storm", "amusement park"};
  return v;
}
const std::vector<std::string>& world_objects() {
  static const std::vector<std::string> v{"balloon", "flower", "spider", "knife", "gift", "candle"};
  return v;
}
const std::vector<std::string>& world_expressions() {
  static const std::vector<std::string> v{"angry", "disgust", "fear", "happy", "sad", "surprise"};  // EmoSet's values
  return v;
}
const std::vector<std::string>& world_actions() {
  static const std::vector<std::string> v{"running", "sitting", "falling", "hugging", "fighting"};
  return v;
}

std::vector<double> emotion_distribution(const WorldAspects& a, double sharpness, const UserTaste* taste) {
  auto add = [](Scores& s, const auto& row) {  // a table row (Scores) or a user's offsets (vector)
    for (size_t e = 0; e < kEmotions; ++e) s[e] += row.at(e);
  };
  Scores s = kSceneScores.at(static_cast<size_t>(a.scene));
  for (int o : a.objects) add(s, kObjectScores.at(static_cast<size_t>(o)));
  if (a.expression >= 0) add(s, kExpressionScores.at(static_cast<size_t>(a.expression)));
  if (a.action >= 0) add(s, kActionScores.at(static_cast<size_t>(a.action)));
  if (taste) {  // the user's own reading of the scene and the objects (synth/world_users.h)
    add(s, taste->scene_offsets.at(static_cast<size_t>(a.scene)));
    for (int o : a.objects) add(s, taste->object_offsets.at(static_cast<size_t>(o)));
  }
  for (int e = 0; e < kEmotions; ++e) s[e] += kBrightnessScores[bin_of(a.brightness)][e] + kColorfulnessScores[bin_of(a.colorfulness)][e];
  double mx = *std::max_element(s.begin(), s.end()), z = 0;
  std::vector<double> p(kEmotions);
  for (int e = 0; e < kEmotions; ++e) z += p[e] = std::exp(sharpness * (s[e] - mx));
  for (auto& v : p) v /= z;
  return p;
}

namespace {
// Bad options fail before anything is written.
void check_world_options(const WorldOptions& o) {
  if (o.images <= 0 || o.size < 32) raise("synth: need images > 0 and size >= 32");
  if (o.train_fraction < 0 || o.val_fraction < 0 || o.train_fraction + o.val_fraction > 1) raise("synth: invalid split fractions");
  if (o.users < 0 || o.user_spread < 0) raise("synth: need users >= 0 and user spread >= 0");
  if (o.users > 0 && (o.user_train_fraction <= 0 || o.user_val_fraction < 0 || o.user_train_fraction + o.user_val_fraction > 1))
    raise("synth: user train/val fractions must lie in (0, 1] and [0, 1) and sum to at most 1, got ", o.user_train_fraction,
          " and ", o.user_val_fraction);
}

// The synthetic users: their tastes, their summaries, and the split of each one's images.
struct WorldUsers {
  std::vector<UserTaste> tastes;
  std::vector<UserSummary> users;
  std::vector<std::vector<int>> user_split;
};

// Users: image i belongs to user i mod users; each user's images are split on their own (persisted in the
// manifest and the split files like every split).
WorldUsers make_world_users(const WorldOptions& o) {
  WorldUsers w;
  for (int64_t u = 0; u < o.users; ++u) {
    w.tastes.push_back(make_user_taste(o.seed, u, o.user_spread));
    w.users.push_back({w.tastes.back().id, std::vector<UserSplitSummary>(3)});
    const int64_t count = o.images / o.users + (u < o.images % o.users ? 1 : 0);
    w.user_split.push_back(user_split_of_images(count, o.user_train_fraction, o.user_val_fraction, o.seed, w.tastes.back().id));
  }
  return w;
}

// What the image loop accumulates: the split summaries, EmoSet's split lists and the manifest's lines.
struct WorldFiles {
  std::vector<SplitSummary> splits{{"train"}, {"val"}, {"test"}};
  // EmoSet's layout beside the manifest: image/<emotion>/<id>.jpg, annotation/<emotion>/<id>.json,
  // {train,val,test}.json lists of [emotion, id, image path, annotation path], info.json label indices.
  std::vector<nlohmann::json> split_lists = std::vector<nlohmann::json>(3, nlohmann::json::array());
  std::vector<nlohmann::json> rows;  // the manifest's, one per image
  std::vector<WorldImage> images;     // label, split and p(e | a) of each image (for the sequences)
  WorldRatingSums ratings;            // per split: the valence/arousal Bayes MSE and variance
};

// What one image shows, and its JPEG bytes as stored.
struct DrawnImage {
  WorldAspects aspects;
  std::vector<unsigned char> jpg;
};

// Draws one image from its seeded stream: scene, objects, maybe a figure and a face, then lighting.
DrawnImage draw_image(const WorldOptions& o, std::mt19937_64& rng) {
  const int s = static_cast<int>(o.size);
  std::uniform_int_distribution<int> scene_d(0, 5), object_d(0, 5), count_d(1, 2), pos_d(s / 5, s * 4 / 5),
      expression_d(0, 5), action_d(0, 4);
  std::uniform_real_distribution<double> light_d(0.3, 1.45), sat_d(0.0, 1.4);
  std::bernoulli_distribution has_face(o.face_probability), has_action(o.action_probability), face_left(0.5);
  cv::Mat img(s, s, CV_8UC3);
  DrawnImage out;
  WorldAspects& drawn = out.aspects;
  drawn.scene = scene_d(rng);
  draw_scene(img, drawn.scene, rng);
  std::vector<int>& objects = drawn.objects;
  for (int k = count_d(rng); k > 0; --k) {
    int obj = object_d(rng);
    if (std::find(objects.begin(), objects.end(), obj) == objects.end()) objects.push_back(obj);
    draw_object(img, obj, {pos_d(rng), pos_d(rng)}, s / 10);
  }
  // A figure stands in one lower half, a face looks out of the opposite upper corner.
  const bool left = face_left(rng);
  if (has_action(rng)) {
    drawn.action = action_d(rng);
    draw_action(img, drawn.action, left ? s * 2 / 3 : s / 3, s * 23 / 25, s * 2 / 5, rng);
  }
  if (has_face(rng)) {
    drawn.expression = expression_d(rng);
    draw_face(img, drawn.expression, {left ? s / 5 : s * 4 / 5, s / 5}, s / 7, rng);
  }
  apply_lighting(img, light_d(rng), sat_d(rng));
  // Measure what is actually stored: encode, decode, measure.
  cv::imencode(".jpg", img, out.jpg, {cv::IMWRITE_JPEG_QUALITY, 95});
  cv::Mat stored = cv::imdecode(out.jpg, cv::IMREAD_COLOR);
  drawn.brightness = round_to_tenth(measure_brightness(stored));
  drawn.colorfulness = round_to_tenth(measure_colorfulness(stored));
  return out;
}

// The first emotion whose cumulative probability passes the uniform draw r (the last one if rounding leaves r
// above them all).
size_t draw_label(const std::vector<double>& p, double r) {
  double acc = 0;
  size_t label = p.size() - 1;
  for (size_t e = 0; e < p.size(); ++e)
    if ((acc += p[e]) > r) { label = e; break; }
  return label;
}

// Image i's split (the uniform draw against the fractions, or with users its place in its user's own split);
// its Bayes accuracy is added to that split's sums and, with users, to its user's.
size_t tally_split(const WorldOptions& o, int64_t i, const WorldAspects& drawn, const std::vector<double>& p, double split_draw,
                   const UserTaste* taste, WorldUsers& w, std::vector<SplitSummary>& splits) {
  size_t split = split_draw < o.train_fraction ? 0 : split_draw < o.train_fraction + o.val_fraction ? 1 : 2;
  if (taste) {
    const auto user = static_cast<size_t>(i % o.users);
    split = static_cast<size_t>(w.user_split[user][static_cast<size_t>(i / o.users)]);
    auto global = emotion_distribution(drawn, o.sharpness);
    auto& us = w.users[user].splits[split];
    us.images++;
    us.bayes_accuracy += *std::max_element(p.begin(), p.end());
    us.global_rule_accuracy += p[static_cast<size_t>(std::max_element(global.begin(), global.end()) - global.begin())];
  }
  splits[split].images++;
  splits[split].bayes_accuracy += *std::max_element(p.begin(), p.end());
  return split;
}

// Writes image i's JPEG and EmoSet annotation, and adds the image to its split's list and to the manifest.
void write_image(const fs::path& root, int64_t i, const DrawnImage& image, size_t label, size_t split, const UserTaste* taste,
                 const WorldRatings& ratings, WorldFiles& files) {
  const WorldAspects& drawn = image.aspects;
  char id[32];
  std::snprintf(id, sizeof id, "%s_%06lld", world_emotions()[label].c_str(), static_cast<long long>(i));
  const std::string emotion = world_emotions()[label];
  const std::string image_path = "image/" + emotion + "/" + id + ".jpg";
  const std::string annotation_path = "annotation/" + emotion + "/" + id + ".json";
  ensure_directory((root / "image" / emotion).string());
  ensure_directory((root / "annotation" / emotion).string());
  write_file_atomic((root / image_path).string(), std::string(image.jpg.begin(), image.jpg.end()));
  nlohmann::json objs = nlohmann::json::array();
  for (int obj : drawn.objects) objs.push_back(world_objects()[static_cast<size_t>(obj)]);
  // EmoSet leaves an attribute out when the image has none (no face, no person).
  nlohmann::json aspects = {{"scene", world_scenes()[static_cast<size_t>(drawn.scene)]}, {"object", objs},
                            {"brightness", drawn.brightness}, {"colorfulness", drawn.colorfulness}};
  if (drawn.expression >= 0) aspects["facial_expression"] = world_expressions()[static_cast<size_t>(drawn.expression)];
  if (drawn.action >= 0) aspects["human_action"] = world_actions()[static_cast<size_t>(drawn.action)];
  nlohmann::json annotation = aspects;
  annotation["emotion"] = emotion;
  annotation["image_id"] = id;
  if (taste) annotation["user"] = taste->id;
  write_file_atomic((root / annotation_path).string(), annotation.dump(2) + "\n");
  files.split_lists[split].push_back({emotion, id, image_path, annotation_path});
  nlohmann::json row = {{"image", image_path}, {"label", emotion}, {"split", files.splits[split].name}, {"aspects", aspects}};
  if (taste) row["user"] = taste->id;
  for (size_t d = 0; d < kWorldDimensions; ++d) row["dimensions"][world_dimension_names()[d]] = std::round(ratings.values[d] * 1000) / 1000;
  files.rows.push_back(std::move(row));
}

// Image i, from its own seeded stream: drawn, then its label and split drawn (in that order), then written.
void synthesize_image(const WorldOptions& o, int64_t i, const fs::path& root, WorldUsers& w, WorldFiles& files) {
  std::mt19937_64 rng(mix_seed(o.seed, 0x574f524c44ull, static_cast<uint64_t>(i)));
  const DrawnImage image = draw_image(o, rng);
  const UserTaste* taste = o.users > 0 ? &w.tastes[static_cast<size_t>(i % o.users)] : nullptr;
  auto p = emotion_distribution(image.aspects, o.sharpness, taste);
  std::uniform_real_distribution<double> u(0, 1);
  const size_t label = draw_label(p, u(rng));
  const double split_draw = u(rng);
  const size_t split = tally_split(o, i, image.aspects, p, split_draw, taste, w, files.splits);
  const auto ratings = draw_world_ratings(o.seed, i, label, p, image.aspects);
  files.ratings.add(split, ratings);
  write_image(root, i, image, label, split, taste, ratings, files);
  files.images.push_back({label, split, std::move(p)});
}

// Turns the split and per-user sums into means over their images.
void average_summaries(std::vector<SplitSummary>& splits, std::vector<UserSummary>& users) {
  for (auto& sp : splits)
    if (sp.images) sp.bayes_accuracy /= static_cast<double>(sp.images);
  for (auto& user : users)
    for (auto& us : user.splits)
      if (us.images) us.bayes_accuracy /= static_cast<double>(us.images), us.global_rule_accuracy /= static_cast<double>(us.images);
}

// world.json: the options, the value lists, each split's Bayes limit and, with users, each user's table and limits.
nlohmann::json world_info(const WorldOptions& o, const std::vector<SplitSummary>& splits, const WorldUsers& w) {
  nlohmann::json info = {{"seed", o.seed}, {"images", o.images}, {"size", o.size}, {"sharpness", o.sharpness},
                         {"emotions", world_emotions()}, {"scenes", world_scenes()}, {"objects", world_objects()},
                         {"facial_expressions", world_expressions()}, {"human_actions", world_actions()},
                         {"face_probability", o.face_probability}, {"action_probability", o.action_probability}};
  for (const auto& sp : splits) info["splits"][sp.name] = {{"images", sp.images}, {"bayes_accuracy", sp.bayes_accuracy}};
  if (o.users > 0) {
    info["users"] = {{"count", o.users}, {"spread", o.user_spread}, {"train_fraction", o.user_train_fraction},
                     {"val_fraction", o.user_val_fraction}, {"per_user", nlohmann::json::object()}};
    for (size_t u = 0; u < w.users.size(); ++u) {
      nlohmann::json entry = {{"scene_offsets", w.tastes[u].scene_offsets}, {"object_offsets", w.tastes[u].object_offsets}};
      for (size_t k = 0; k < 3; ++k) {
        const auto& us = w.users[u].splits[k];
        entry["splits"][splits[k].name] = {{"images", us.images}, {"bayes_accuracy", us.bayes_accuracy},
                                           {"global_rule_accuracy", us.global_rule_accuracy}};
      }
      info["users"]["per_user"][w.users[u].id] = entry;
    }
  }
  return info;
}

// Marks each sequence's images in the manifest rows (sequence, position) and describes the sequences for world.json.
nlohmann::json sequence_info(const WorldOptions& o, const WorldSequences& sequences, std::vector<nlohmann::json>& rows) {
  for (size_t q = 0; q < sequences.members.size(); ++q)
    for (size_t j = 0; j < sequences.members[q].size(); ++j) {
      char id[32];
      std::snprintf(id, sizeof id, "seq_%06zu", q);
      auto& row = rows[static_cast<size_t>(sequences.members[q][j])];
      row["sequence"] = id, row["position"] = j;
    }
  nlohmann::json info = {{"count", sequences.members.size()}, {"length", o.sequences.length}, {"inertia", o.sequences.inertia},
                         {"splits", nlohmann::json::object()}};
  for (const auto& sp : sequences.splits)
    info["splits"][sp.name] = {{"sequences", sp.sequences}, {"items", sp.items}, {"bayes_context_free", sp.bayes_context_free},
                               {"bayes_sequence", sp.bayes_sequence}};
  return info;
}

// EmoSet's info.json: the index of every label and aspect value.
nlohmann::json emoset_info() {
  auto index_of = [](const std::vector<std::string>& names) {
    nlohmann::json m = nlohmann::json::object();
    for (size_t k = 0; k < names.size(); ++k) m[names[k]] = k;
    return m;
  };
  nlohmann::json info = {{"label2idx", index_of(world_emotions())}, {"scene2idx", index_of(world_scenes())},
                         {"object2idx", index_of(world_objects())},
                         {"facial_expression2idx", index_of(world_expressions())},
                         {"human_action2idx", index_of(world_actions())}};
  return info;
}
}  // namespace

WorldSummary synthesize_world(const WorldOptions& o) {
  check_world_options(o);
  WorldUsers w = make_world_users(o);
  const fs::path root(o.out_dir);
  WorldFiles files;
  for (int64_t i = 0; i < o.images; ++i) synthesize_image(o, i, root, w, files);
  average_summaries(files.splits, w.users);
  auto info = world_info(o, files.splits, w);
  std::vector<std::string> split_names;
  for (const auto& sp : files.splits) split_names.push_back(sp.name);
  info["dimensions"] = files.ratings.to_json(split_names);
  SequenceOptions sequence_options = o.sequences;
  sequence_options.seed = mix_seed(o.seed, 0x5E0);
  const auto sequences = group_into_sequences(files.images, split_names, world_emotions(), sequence_options);
  if (!sequences.members.empty()) info["sequences"] = sequence_info(o, sequences, files.rows);
  write_file_atomic((root / "world.json").string(), info.dump(2) + "\n");
  for (size_t k = 0; k < 3; ++k)
    write_file_atomic((root / (files.splits[k].name + ".json")).string(), files.split_lists[k].dump() + "\n");
  write_file_atomic((root / "info.json").string(), emoset_info().dump(2) + "\n");
  std::string manifest;
  for (const auto& row : files.rows) manifest += row.dump() + "\n";
  write_file_atomic((root / "manifest.jsonl").string(), manifest);
  return {files.splits, w.users, sequences.members.empty() ? std::vector<SequenceSplitSummary>{} : sequences.splits,
          (root / "manifest.jsonl").string()};
}

}  // namespace emotune
