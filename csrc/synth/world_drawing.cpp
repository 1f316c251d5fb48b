#include "synth/world_drawing.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace emotune {
namespace {

cv::Scalar bgr(int r, int g, int b) { return cv::Scalar(b, g, r); }

// A stick figure's joints in a local frame: origin between the feet, y up, in units of the figure height.
struct Pose {
  cv::Point2d head, neck, hip, left_elbow, left_hand, right_elbow, right_hand, left_knee, left_foot, right_knee, right_foot;
};

const Pose kStanding{{0, 0.88}, {0, 0.75}, {0, 0.42}, {-0.12, 0.6}, {-0.18, 0.45}, {0.12, 0.6}, {0.18, 0.45},
                     {-0.06, 0.2}, {-0.1, 0}, {0.06, 0.2}, {0.1, 0}};

// Draws `pose` with its feet at `base`, rotated by `angle` (radians, counter-clockwise on screen) and mirrored
// when `mirror` (facing left), height h pixels.
void draw_pose(cv::Mat& img, const Pose& pose, cv::Point base, int h, double angle, bool mirror, cv::Scalar colour) {
  const double c = std::cos(angle), s = std::sin(angle);
  auto at = [&](cv::Point2d p) {
    const double x = (mirror ? -p.x : p.x) * h, y = p.y * h;
    return cv::Point(base.x + static_cast<int>(std::lround(x * c - y * s)), base.y - static_cast<int>(std::lround(x * s + y * c)));
  };
  const int thick = std::max(2, h / 14);
  auto limb = [&](cv::Point2d a, cv::Point2d b) { cv::line(img, at(a), at(b), colour, thick, cv::LINE_AA); };
  limb(pose.neck, pose.hip);
  limb(pose.neck, pose.left_elbow), limb(pose.left_elbow, pose.left_hand);
  limb(pose.neck, pose.right_elbow), limb(pose.right_elbow, pose.right_hand);
  limb(pose.hip, pose.left_knee), limb(pose.left_knee, pose.left_foot);
  limb(pose.hip, pose.right_knee), limb(pose.right_knee, pose.right_foot);
  cv::circle(img, at(pose.head), std::max(2, h / 9), colour, cv::FILLED, cv::LINE_AA);
}

// Light figures on dark ground, dark figures on light ground, so a figure is visible on every scene.
cv::Scalar figure_colour(const cv::Mat& img, int x, int y, int h, std::mt19937_64& rng) {
  cv::Rect box(std::clamp(x - h / 3, 0, img.cols - 1), std::clamp(y - h, 0, img.rows - 1), 1, 1);
  box.width = std::min(2 * h / 3, img.cols - box.x), box.height = std::min(h, img.rows - box.y);
  const cv::Scalar m = cv::mean(img(box));
  std::uniform_int_distribution<int> tone(0, 40);
  const double luma = 0.299 * m[2] + 0.587 * m[1] + 0.114 * m[0];
  return luma < 110 ? bgr(215 + tone(rng), 215 + tone(rng) / 2, 200) : bgr(20 + tone(rng), 20 + tone(rng) / 2, 30 + tone(rng));
}

}  // namespace


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


void draw_face(cv::Mat& img, int expression, cv::Point c, int r, std::mt19937_64& rng) {
  static const std::array<cv::Scalar, 4> skins{bgr(245, 205, 170), bgr(225, 175, 135), bgr(175, 125, 90), bgr(250, 220, 190)};
  std::uniform_int_distribution<size_t> skin_d(0, skins.size() - 1);
  const cv::Scalar ink = bgr(25, 20, 20), white = bgr(250, 250, 250);
  const int thick = std::max(1, r / 8);
  cv::circle(img, c, r, skins[skin_d(rng)], cv::FILLED, cv::LINE_AA);
  cv::circle(img, c, r, ink, 1, cv::LINE_AA);
  auto P = [&](double dx, double dy) { return cv::Point(c.x + static_cast<int>(std::lround(dx * r)), c.y + static_cast<int>(std::lround(dy * r))); };
  auto line = [&](double x0, double y0, double x1, double y1) { cv::line(img, P(x0, y0), P(x1, y1), ink, thick, cv::LINE_AA); };
  auto eyes = [&](double size, bool whites) {
    for (double side : {-0.4, 0.4}) {
      if (whites) cv::circle(img, P(side, -0.15), std::max(2, static_cast<int>(0.22 * r)), white, cv::FILLED, cv::LINE_AA);
      cv::circle(img, P(side, -0.15), std::max(1, static_cast<int>(size * r)), ink, cv::FILLED, cv::LINE_AA);
    }
  };
  // Brows: (outer height, inner height) relative to the eye line; inner ends up = sad/fear, down = anger.
  auto brows = [&](double outer, double inner) { line(-0.65, outer, -0.18, inner), line(0.65, outer, 0.18, inner); };
  auto arc = [&](double cy, double ax, double ay, double from, double to) {
    cv::ellipse(img, P(0, cy), {std::max(1, static_cast<int>(ax * r)), std::max(1, static_cast<int>(ay * r))}, 0, from, to, ink, thick, cv::LINE_AA);
  };
  switch (expression) {
    case 0:  // angry: brows in a V, narrowed eyes, tight downturned mouth
      brows(-0.55, -0.3), eyes(0.1, false);
      line(-0.35, 0.5, 0.35, 0.5), line(-0.35, 0.5, -0.45, 0.6), line(0.35, 0.5, 0.45, 0.6);
      break;
    case 1:  // disgust: one brow down, squinted eyes, wavy asymmetric mouth
      line(-0.65, -0.45, -0.18, -0.35), line(0.65, -0.6, 0.18, -0.5);
      line(-0.55, -0.15, -0.25, -0.15), line(0.25, -0.15, 0.55, -0.15);
      line(-0.4, 0.55, -0.15, 0.42), line(-0.15, 0.42, 0.1, 0.55), line(0.1, 0.55, 0.4, 0.38);
      break;
    case 2:  // fear: raised brows with inner ends up, wide eyes, wide open mouth
      brows(-0.55, -0.75), eyes(0.1, true);
      cv::ellipse(img, P(0, 0.5), {std::max(2, static_cast<int>(0.35 * r)), std::max(1, static_cast<int>(0.14 * r))}, 0, 0, 360, ink, cv::FILLED, cv::LINE_AA);
      break;
    case 3:  // happy: relaxed brows, smile
      brows(-0.5, -0.5), eyes(0.1, false);
      arc(0.2, 0.45, 0.35, 20, 160);
      break;
    case 4:  // sad: inner brow ends up, frown, a tear
      brows(-0.4, -0.6), eyes(0.1, false);
      arc(0.8, 0.4, 0.25, 200, 340);
      cv::circle(img, P(0.45, 0.2), std::max(1, r / 7), bgr(60, 140, 240), cv::FILLED, cv::LINE_AA);
      break;
    default:  // surprise: high arched brows, wide eyes, round open mouth
      arc(-0.55, 0.25, 0.15, 180, 360);  // one wide arch over both eyes reads as raised brows at this size
      eyes(0.1, true);
      cv::ellipse(img, P(0, 0.5), {std::max(1, static_cast<int>(0.15 * r)), std::max(2, static_cast<int>(0.25 * r))}, 0, 0, 360, ink, cv::FILLED, cv::LINE_AA);
      break;
  }
}

void draw_action(cv::Mat& img, int action, int x, int y, int h, std::mt19937_64& rng) {
  std::bernoulli_distribution flip(0.5);
  const bool mirror = flip(rng);
  const cv::Scalar colour = figure_colour(img, x, y, h, rng);
  switch (action) {
    case 0: {  // running: leaning forward, stride, swinging arms
      Pose p{{0.14, 0.86}, {0.11, 0.74}, {0, 0.42}, {0.22, 0.6}, {0.32, 0.7}, {-0.08, 0.56}, {-0.22, 0.48},
             {0.2, 0.27}, {0.14, 0.03}, {-0.1, 0.22}, {-0.3, 0.12}};
      draw_pose(img, p, {x, y}, h, 0, mirror, colour);
      break;
    }
    case 1: {  // sitting on a stool: thighs level, shins down
      Pose p{{0, 0.82}, {0, 0.7}, {0, 0.36}, {0.1, 0.52}, {0.24, 0.46}, {0.08, 0.52}, {0.22, 0.44},
             {0.26, 0.36}, {0.26, 0}, {0.24, 0.34}, {0.3, 0}};
      const int d = mirror ? -1 : 1;
      cv::line(img, {x - d * h / 8, y - h * 33 / 100}, {x + d * h / 6, y - h * 33 / 100}, bgr(120, 80, 40), std::max(2, h / 12));
      cv::line(img, {x, y - h * 33 / 100}, {x, y}, bgr(120, 80, 40), std::max(1, h / 16));
      draw_pose(img, p, {x, y}, h, 0, mirror, colour);
      break;
    }
    case 2: {  // falling: tipped far over, arms flung up
      Pose p = kStanding;
      p.left_elbow = {-0.16, 0.85}, p.left_hand = {-0.26, 1.0}, p.right_elbow = {0.16, 0.85}, p.right_hand = {0.26, 1.0};
      p.right_knee = {0.12, 0.22}, p.right_foot = {0.24, 0.1};
      draw_pose(img, p, {x, y}, h, mirror ? 1.1 : -1.1, mirror, colour);
      break;
    }
    case 3: {  // hugging: two figures close together, arms around each other
      Pose p = kStanding;
      p.left_elbow = {0.12, 0.66}, p.left_hand = {0.3, 0.62}, p.right_elbow = {0.16, 0.58}, p.right_hand = {0.32, 0.55};
      draw_pose(img, p, {x - h / 8, y}, h, 0, false, colour);
      draw_pose(img, p, {x + h / 8, y}, h * 9 / 10, 0, true, colour);
      break;
    }
    default: {  // fighting: two figures in a wide stance, fists thrust at each other, a burst between them
      Pose p{{0.04, 0.86}, {0.03, 0.74}, {0, 0.42}, {0.16, 0.7}, {0.34, 0.72}, {0.1, 0.58}, {0.14, 0.72},
             {-0.12, 0.22}, {-0.2, 0}, {0.14, 0.22}, {0.22, 0}};
      const int gap = h * 45 / 100;
      draw_pose(img, p, {x - gap, y}, h, 0, false, colour);
      draw_pose(img, p, {x + gap, y}, h, 0, true, colour);
      const cv::Point burst{x, y - h * 72 / 100};
      for (int k = 0; k < 8; ++k) {
        const double a = k * M_PI / 4;
        cv::line(img, burst, {burst.x + static_cast<int>(h / 7 * std::cos(a)), burst.y + static_cast<int>(h / 7 * std::sin(a))},
                 bgr(250, 200, 30), std::max(1, h / 20), cv::LINE_AA);
      }
      break;
    }
  }
}

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


}  // namespace emotune
