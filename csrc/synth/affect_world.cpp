#include "synth/affect_world.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/aspect_answer.h"
#include "synth/image_stats.h"

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

int bin_of(double v) { return std::min(4, static_cast<int>(v / 0.2 + 1e-9)); }

cv::Scalar bgr(int r, int g, int b) { return cv::Scalar(b, g, r); }

void draw_scene(cv::Mat& img, int scene, std::mt19937_64& rng) {
  const int s = img.rows;
  std::uniform_int_distribution<int> jitter(-12, 12), pos(0, s - 1);
  auto j = [&](int v) { return std::clamp(v + jitter(rng), 0, 255); };
  switch (scene) {
    case 0:  // beach: sky, sea, sand, sun
      img.setTo(bgr(j(120), j(190), j(240)));
      cv::rectangle(img, {0, s / 2}, {s, s * 2 / 3}, bgr(j(30), j(110), j(200)), cv::FILLED);
      cv::rectangle(img, {0, s * 2 / 3}, {s, s}, bgr(j(235), j(210), j(150)), cv::FILLED);
      cv::circle(img, {pos(rng), s / 6}, s / 10, bgr(255, 230, 80), cv::FILLED);
      break;
    case 1:  // forest: green ground, trees
      img.setTo(bgr(j(150), j(200), j(150)));
      cv::rectangle(img, {0, s * 3 / 4}, {s, s}, bgr(j(60), j(120), j(40)), cv::FILLED);
      for (int t = 0; t < 5; ++t) {
        int x = pos(rng);
        cv::rectangle(img, {x - 2, s / 2}, {x + 2, s * 3 / 4}, bgr(100, 70, 40), cv::FILLED);
        std::vector<cv::Point> crown{{x - s / 8, s / 2}, {x + s / 8, s / 2}, {x, s / 6}};
        cv::fillConvexPoly(img, crown, bgr(j(30), j(110), j(40)));
      }
      break;
    case 2:  // night street: dark sky, buildings, lamps
      img.setTo(bgr(j(15), j(20), j(50)));
      for (int b = 0; b < 4; ++b) {
        int x = b * s / 4, h = s / 3 + pos(rng) / 3;
        cv::rectangle(img, {x, s - h}, {x + s / 4 - 2, s}, bgr(j(40), j(40), j(55)), cv::FILLED);
      }
      for (int l = 0; l < 3; ++l) cv::circle(img, {pos(rng), s / 3}, 3, bgr(255, 220, 120), cv::FILLED);
      break;
    case 3:  // room: walls, floor, window
      img.setTo(bgr(j(220), j(200), j(170)));
      cv::rectangle(img, {0, s * 3 / 4}, {s, s}, bgr(j(130), j(90), j(60)), cv::FILLED);
      cv::rectangle(img, {s / 3, s / 8}, {s * 2 / 3, s / 3}, bgr(j(170), j(210), j(235)), cv::FILLED);
      break;
    case 4: {  // storm: grey clouds, rain, lightning
      img.setTo(bgr(j(90), j(95), j(105)));
      for (int c = 0; c < 4; ++c) cv::circle(img, {pos(rng), s / 6}, s / 6, bgr(j(60), j(60), j(70)), cv::FILLED);
      int x = pos(rng);
      std::vector<cv::Point> bolt{{x, s / 4}, {x - 6, s / 2}, {x + 4, s / 2}, {x - 4, s * 3 / 4}};
      cv::polylines(img, bolt, false, bgr(255, 255, 200), 2);
      for (int r = 0; r < 25; ++r) {
        int rx = pos(rng), ry = pos(rng);
        cv::line(img, {rx, ry}, {rx - 2, ry + 6}, bgr(170, 180, 200), 1);
      }
      break;
    }
    default: {  // amusement park: purple sky, ferris wheel, coloured stripes
      img.setTo(bgr(j(150), j(90), j(200)));
      cv::Point c{s / 2 + jitter(rng), s / 2};
      cv::circle(img, c, s / 3, bgr(240, 240, 240), 2);
      for (int k = 0; k < 8; ++k) {
        double a = k * M_PI / 4;
        cv::Point p{c.x + static_cast<int>(s / 3 * std::cos(a)), c.y + static_cast<int>(s / 3 * std::sin(a))};
        cv::line(img, c, p, bgr(240, 240, 240), 1);
        cv::circle(img, p, 3, bgr(k * 30, 255 - k * 30, 120), cv::FILLED);
      }
      for (int k = 0; k < 6; ++k)
        cv::rectangle(img, {k * s / 6, s * 7 / 8}, {(k + 1) * s / 6, s}, k % 2 ? bgr(255, 60, 60) : bgr(255, 240, 60), cv::FILLED);
      break;
    }
  }
}

void draw_object(cv::Mat& img, int object, cv::Point c, int r) {
  switch (object) {
    case 0:  // balloon
      cv::ellipse(img, c, {r, r * 5 / 4}, 0, 0, 360, bgr(230, 30, 40), cv::FILLED);
      cv::line(img, {c.x, c.y + r * 5 / 4}, {c.x, c.y + r * 3}, bgr(40, 40, 40), 1);
      break;
    case 1:  // flower
      for (int k = 0; k < 6; ++k) {
        double a = k * M_PI / 3;
        cv::circle(img, {c.x + static_cast<int>(r * 0.7 * std::cos(a)), c.y + static_cast<int>(r * 0.7 * std::sin(a))}, r / 2, bgr(250, 150, 200), cv::FILLED);
      }
      cv::circle(img, c, r / 3, bgr(250, 220, 40), cv::FILLED);
      break;
    case 2:  // spider
      for (int k = 0; k < 4; ++k) {
        int dy = (k - 1) * r / 3;
        cv::line(img, c, {c.x - r * 3 / 2, c.y + dy - r / 3}, bgr(10, 10, 10), 1);
        cv::line(img, c, {c.x + r * 3 / 2, c.y + dy - r / 3}, bgr(10, 10, 10), 1);
      }
      cv::circle(img, c, r / 2, bgr(20, 15, 15), cv::FILLED);
      break;
    case 3: {  // knife
      std::vector<cv::Point> blade{{c.x - r, c.y + r / 4}, {c.x + r, c.y}, {c.x - r, c.y - r / 4}};
      cv::fillConvexPoly(img, blade, bgr(200, 205, 215));
      cv::rectangle(img, {c.x - r * 2, c.y - r / 5}, {c.x - r, c.y + r / 5}, bgr(60, 30, 20), cv::FILLED);
      break;
    }
    case 4:  // gift
      cv::rectangle(img, {c.x - r, c.y - r}, {c.x + r, c.y + r}, bgr(40, 90, 230), cv::FILLED);
      cv::rectangle(img, {c.x - r / 5, c.y - r}, {c.x + r / 5, c.y + r}, bgr(250, 220, 40), cv::FILLED);
      cv::rectangle(img, {c.x - r, c.y - r / 5}, {c.x + r, c.y + r / 5}, bgr(250, 220, 40), cv::FILLED);
      break;
    default:  // candle
      cv::rectangle(img, {c.x - r / 3, c.y - r / 2}, {c.x + r / 3, c.y + r * 3 / 2}, bgr(245, 240, 225), cv::FILLED);
      cv::ellipse(img, {c.x, c.y - r * 3 / 4}, {r / 4, r / 2}, 0, 0, 360, bgr(255, 170, 30), cv::FILLED);
      break;
  }
}

// Global lighting (multiplies intensity) and saturation (blends toward grey).
void apply_lighting(cv::Mat& img, double light, double saturation) {
  cv::Mat f, gray, gray3;
  img.convertTo(f, CV_32FC3);
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  gray.convertTo(gray, CV_32F);
  cv::cvtColor(gray, gray3, cv::COLOR_GRAY2BGR);
  f = gray3 + saturation * (f - gray3);
  f *= light;
  f.convertTo(img, CV_8UC3);  // saturates to [0, 255]
}

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

std::vector<double> emotion_distribution(int scene, const std::vector<int>& objects, double brightness,
                                         double colorfulness, double sharpness, const UserTaste* taste) {
  Scores s = kSceneScores.at(static_cast<size_t>(scene));
  for (int o : objects)
    for (int e = 0; e < kEmotions; ++e) s[e] += kObjectScores.at(static_cast<size_t>(o))[e];
  if (taste) {  // the user's own reading of the scene and the objects (synth/world_users.h)
    for (int e = 0; e < kEmotions; ++e) s[e] += taste->scene_offsets.at(static_cast<size_t>(scene))[static_cast<size_t>(e)];
    for (int o : objects)
      for (int e = 0; e < kEmotions; ++e) s[e] += taste->object_offsets.at(static_cast<size_t>(o))[static_cast<size_t>(e)];
  }
  for (int e = 0; e < kEmotions; ++e) s[e] += kBrightnessScores[bin_of(brightness)][e] + kColorfulnessScores[bin_of(colorfulness)][e];
  double mx = *std::max_element(s.begin(), s.end()), z = 0;
  std::vector<double> p(kEmotions);
  for (int e = 0; e < kEmotions; ++e) z += p[e] = std::exp(sharpness * (s[e] - mx));
  for (auto& v : p) v /= z;
  return p;
}

nlohmann::json read_world_info(const std::string& manifest_path) {
  auto world = fs::path(manifest_path).parent_path() / "world.json";
  if (!fs::exists(world)) return nullptr;
  auto info = nlohmann::json::parse(read_file(world.string()), nullptr, false);
  return info.is_discarded() ? nlohmann::json(nullptr) : info;
}

WorldSummary synthesize_world(const WorldOptions& o) {
  if (o.images <= 0 || o.size < 32) raise("synth: need images > 0 and size >= 32");
  if (o.train_fraction < 0 || o.val_fraction < 0 || o.train_fraction + o.val_fraction > 1) raise("synth: invalid split fractions");
  if (o.users < 0 || o.user_spread < 0) raise("synth: need users >= 0 and user spread >= 0");
  if (o.users > 0 && (o.user_train_fraction <= 0 || o.user_val_fraction < 0 || o.user_train_fraction + o.user_val_fraction > 1))
    raise("synth: user train/val fractions must lie in (0, 1] and [0, 1) and sum to at most 1, got ", o.user_train_fraction,
          " and ", o.user_val_fraction);
  // Users: image i belongs to user i mod users; each user's images are split on their own (persisted in the
  // manifest and the split files like every split).
  std::vector<UserTaste> tastes;
  std::vector<UserSummary> users;
  std::vector<std::vector<int>> user_split;
  for (int64_t u = 0; u < o.users; ++u) {
    tastes.push_back(make_user_taste(o.seed, u, o.user_spread));
    users.push_back({tastes.back().id, std::vector<UserSplitSummary>(3)});
    const int64_t count = o.images / o.users + (u < o.images % o.users ? 1 : 0);
    user_split.push_back(user_split_of_images(count, o.user_train_fraction, o.user_val_fraction, o.seed, tastes.back().id));
  }
  const fs::path root(o.out_dir);
  std::vector<SplitSummary> splits{{"train"}, {"val"}, {"test"}};
  std::string manifest;
  // EmoSet's layout beside the manifest: image/<emotion>/<id>.jpg, annotation/<emotion>/<id>.json,
  // {train,val,test}.json lists of [emotion, id, image path, annotation path], info.json label indices.
  std::vector<nlohmann::json> split_lists(3, nlohmann::json::array());
  const int s = static_cast<int>(o.size);
  for (int64_t i = 0; i < o.images; ++i) {
    std::mt19937_64 rng(mix_seed(o.seed, 0x574f524c44ull, static_cast<uint64_t>(i)));
    std::uniform_int_distribution<int> scene_d(0, 5), object_d(0, 5), count_d(1, 2), pos_d(s / 5, s * 4 / 5);
    std::uniform_real_distribution<double> light_d(0.3, 1.45), sat_d(0.0, 1.4), u(0, 1);
    cv::Mat img(s, s, CV_8UC3);
    int scene = scene_d(rng);
    draw_scene(img, scene, rng);
    std::vector<int> objects;
    for (int k = count_d(rng); k > 0; --k) {
      int obj = object_d(rng);
      if (std::find(objects.begin(), objects.end(), obj) == objects.end()) objects.push_back(obj);
      draw_object(img, obj, {pos_d(rng), pos_d(rng)}, s / 10);
    }
    apply_lighting(img, light_d(rng), sat_d(rng));
    // Measure what is actually stored: encode, decode, measure.
    std::vector<unsigned char> jpg;
    cv::imencode(".jpg", img, jpg, {cv::IMWRITE_JPEG_QUALITY, 95});
    cv::Mat stored = cv::imdecode(jpg, cv::IMREAD_COLOR);
    double brightness = round_to_tenth(measure_brightness(stored));
    double colorfulness = round_to_tenth(measure_colorfulness(stored));
    const UserTaste* taste = o.users > 0 ? &tastes[static_cast<size_t>(i % o.users)] : nullptr;
    auto p = emotion_distribution(scene, objects, brightness, colorfulness, o.sharpness, taste);
    double r = u(rng), acc = 0;
    size_t label = p.size() - 1;
    for (size_t e = 0; e < p.size(); ++e)
      if ((acc += p[e]) > r) { label = e; break; }
    double split_draw = u(rng);
    size_t split = split_draw < o.train_fraction ? 0 : split_draw < o.train_fraction + o.val_fraction ? 1 : 2;
    if (taste) {
      const auto user = static_cast<size_t>(i % o.users);
      split = static_cast<size_t>(user_split[user][static_cast<size_t>(i / o.users)]);
      auto global = emotion_distribution(scene, objects, brightness, colorfulness, o.sharpness);
      auto& us = users[user].splits[split];
      us.images++;
      us.bayes_accuracy += *std::max_element(p.begin(), p.end());
      us.global_rule_accuracy += p[static_cast<size_t>(std::max_element(global.begin(), global.end()) - global.begin())];
    }
    splits[split].images++;
    splits[split].bayes_accuracy += *std::max_element(p.begin(), p.end());
    char id[32];
    std::snprintf(id, sizeof id, "%s_%06lld", world_emotions()[label].c_str(), static_cast<long long>(i));
    const std::string emotion = world_emotions()[label];
    const std::string image_path = "image/" + emotion + "/" + id + ".jpg";
    const std::string annotation_path = "annotation/" + emotion + "/" + id + ".json";
    ensure_directory((root / "image" / emotion).string());
    ensure_directory((root / "annotation" / emotion).string());
    write_file_atomic((root / image_path).string(), std::string(jpg.begin(), jpg.end()));
    nlohmann::json objs = nlohmann::json::array();
    for (int obj : objects) objs.push_back(world_objects()[static_cast<size_t>(obj)]);
    nlohmann::json aspects = {{"scene", world_scenes()[static_cast<size_t>(scene)]}, {"object", objs},
                              {"brightness", brightness}, {"colorfulness", colorfulness}};
    nlohmann::json annotation = aspects;
    annotation["emotion"] = emotion;
    annotation["image_id"] = id;
    if (taste) annotation["user"] = taste->id;
    write_file_atomic((root / annotation_path).string(), annotation.dump(2) + "\n");
    split_lists[split].push_back({emotion, id, image_path, annotation_path});
    nlohmann::json row = {{"image", image_path}, {"label", emotion}, {"split", splits[split].name}, {"aspects", aspects}};
    if (taste) row["user"] = taste->id;
    manifest += row.dump() + "\n";
  }
  for (auto& sp : splits)
    if (sp.images) sp.bayes_accuracy /= static_cast<double>(sp.images);
  nlohmann::json info = {{"seed", o.seed}, {"images", o.images}, {"size", o.size}, {"sharpness", o.sharpness},
                         {"emotions", world_emotions()}, {"scenes", world_scenes()}, {"objects", world_objects()}};
  for (const auto& sp : splits) info["splits"][sp.name] = {{"images", sp.images}, {"bayes_accuracy", sp.bayes_accuracy}};
  if (o.users > 0) {
    info["users"] = {{"count", o.users}, {"spread", o.user_spread}, {"train_fraction", o.user_train_fraction},
                     {"val_fraction", o.user_val_fraction}, {"per_user", nlohmann::json::object()}};
    for (size_t u = 0; u < users.size(); ++u) {
      nlohmann::json entry = {{"scene_offsets", tastes[u].scene_offsets}, {"object_offsets", tastes[u].object_offsets}};
      for (size_t k = 0; k < 3; ++k) {
        auto& us = users[u].splits[k];
        if (us.images) us.bayes_accuracy /= static_cast<double>(us.images), us.global_rule_accuracy /= static_cast<double>(us.images);
        entry["splits"][splits[k].name] = {{"images", us.images}, {"bayes_accuracy", us.bayes_accuracy},
                                           {"global_rule_accuracy", us.global_rule_accuracy}};
      }
      info["users"]["per_user"][users[u].id] = entry;
    }
  }
  write_file_atomic((root / "world.json").string(), info.dump(2) + "\n");
  for (size_t k = 0; k < 3; ++k) write_file_atomic((root / (splits[k].name + ".json")).string(), split_lists[k].dump() + "\n");
  auto index_of = [](const std::vector<std::string>& names) {
    nlohmann::json m = nlohmann::json::object();
    for (size_t k = 0; k < names.size(); ++k) m[names[k]] = k;
    return m;
  };
  nlohmann::json emoset_info = {{"label2idx", index_of(world_emotions())}, {"scene2idx", index_of(world_scenes())},
                                {"object2idx", index_of(world_objects())}};
  write_file_atomic((root / "info.json").string(), emoset_info.dump(2) + "\n");
  write_file_atomic((root / "manifest.jsonl").string(), manifest);
  return {splits, users, (root / "manifest.jsonl").string()};
}

}  // namespace emotune
