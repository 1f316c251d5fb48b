#include "report/sepm_figure.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "core/error.h"

namespace emotune {

namespace {

constexpr int kSide = 240, kMargin = 16, kTitle = 40, kCaption = 44;
const cv::Scalar kInk(30, 30, 30), kDropped(20, 20, 20);

cv::Mat panel_image(const TokenDropPanel& p, bool& found) {
  cv::Mat image = cv::imread(p.image_path, cv::IMREAD_COLOR);
  found = !image.empty();
  if (!found) image = cv::Mat(kSide, kSide, CV_8UC3, cv::Scalar(160, 160, 160));
  cv::resize(image, image, {kSide, kSide}, 0, 0, cv::INTER_AREA);
  return image;
}

// The image with each grid cell tinted by its score (JET: blue = least attended, red = most) and dropped cells crossed.
cv::Mat draw_panel(const TokenDropPanel& p, bool& found) {
  if (p.grid.size() != 2 || p.grid[0] * p.grid[1] != static_cast<int64_t>(p.scores.size()))
    raise("report: SEPM scores of ", p.image_path, " do not fill their grid");
  cv::Mat image = panel_image(p, found), tint = image.clone();
  const auto [lo, hi] = std::minmax_element(p.scores.begin(), p.scores.end());
  const double span = *hi - *lo > 0 ? *hi - *lo : 1;
  const int rows = static_cast<int>(p.grid[0]), cols = static_cast<int>(p.grid[1]);
  auto cell = [&](int64_t j) {
    const int r = static_cast<int>(j) / cols, c = static_cast<int>(j) % cols;
    return cv::Rect(c * kSide / cols, r * kSide / rows, (c + 1) * kSide / cols - c * kSide / cols, (r + 1) * kSide / rows - r * kSide / rows);
  };
  cv::Mat level(1, 1, CV_8UC1), colour;
  for (size_t j = 0; j < p.scores.size(); ++j) {
    level.at<uint8_t>(0, 0) = static_cast<uint8_t>(255.0 * (p.scores[j] - *lo) / span);
    cv::applyColorMap(level, colour, cv::COLORMAP_JET);
    tint(cell(static_cast<int64_t>(j))).setTo(colour.at<cv::Vec3b>(0, 0));
  }
  cv::addWeighted(image, 0.55, tint, 0.45, 0, image);
  for (auto j : p.dropped) {
    auto r = cell(j);
    cv::Mat area = image(r);
    area *= 0.35;
    cv::line(image, r.tl(), r.br() - cv::Point(1, 1), kDropped, 2, cv::LINE_AA);
    cv::line(image, {r.x, r.y + r.height - 1}, {r.x + r.width - 1, r.y}, kDropped, 2, cv::LINE_AA);
  }
  return image;
}

void put(cv::Mat& img, const std::string& s, cv::Point at, double scale) {
  cv::putText(img, s, at, cv::FONT_HERSHEY_SIMPLEX, scale, kInk, 1, cv::LINE_AA);
}

}  // namespace

cv::Mat draw_token_drop(const std::string& title, const std::vector<TokenDropPanel>& panels) {
  const int n = std::max<int>(1, static_cast<int>(panels.size()));
  int base = 0;
  const int title_width = cv::getTextSize(title, cv::FONT_HERSHEY_SIMPLEX, 0.55, 1, &base).width + 2 * kMargin;
  cv::Mat canvas(kTitle + kSide + kCaption, std::max(title_width, kMargin + n * (kSide + kMargin)), CV_8UC3, cv::Scalar(255, 255, 255));
  put(canvas, title, {kMargin, 26}, 0.55);
  for (size_t i = 0; i < panels.size(); ++i) {
    bool found = true;
    const int x = kMargin + static_cast<int>(i) * (kSide + kMargin);
    draw_panel(panels[i], found).copyTo(canvas(cv::Rect(x, kTitle, kSide, kSide)));
    put(canvas, panels[i].caption, {x, kTitle + kSide + 18}, 0.42);
    put(canvas, found ? std::to_string(panels[i].dropped.size()) + " of " + std::to_string(panels[i].scores.size()) + " tokens dropped"
                      : "image not found: " + panels[i].image_path.substr(panels[i].image_path.rfind('/') + 1),
        {x, kTitle + kSide + 36}, 0.42);
  }
  return canvas;
}

}  // namespace emotune
