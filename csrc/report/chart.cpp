#include "report/chart.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"

namespace emotune {

namespace {
const int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kInk(30, 30, 30), kGrid(225, 225, 225), kWhite(255, 255, 255);
// A colour-blind-safe cycle (Okabe-Ito), BGR.
const cv::Scalar kColours[] = {{178, 114, 0}, {0, 159, 230}, {115, 158, 0}, {167, 121, 204}, {66, 228, 240}, {0, 94, 213}, {233, 180, 86}, {0, 0, 0}};

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale = 0.5, int thickness = 1, bool centred = false) {
  int base = 0;
  auto size = cv::getTextSize(s, kFont, scale, thickness, &base);
  if (centred) at.x -= size.width / 2;
  cv::putText(img, s, at, kFont, scale, kInk, thickness, cv::LINE_AA);
}

// Text drawn rotated by 90 degrees (reading bottom to top), its bottom-left... centred on `centre`.
void vertical_text(cv::Mat& img, const std::string& s, cv::Point centre, double scale = 0.5) {
  int base = 0;
  auto size = cv::getTextSize(s, kFont, scale, 1, &base);
  cv::Mat patch(size.height + base + 4, size.width + 4, CV_8UC3, kWhite);
  cv::putText(patch, s, {2, size.height + 2}, kFont, scale, kInk, 1, cv::LINE_AA);
  cv::rotate(patch, patch, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::Rect r(centre.x - patch.cols / 2, centre.y - patch.rows / 2, patch.cols, patch.rows);
  r &= cv::Rect(0, 0, img.cols, img.rows);
  // Dark ink on white: the darker of patch and page, so the patch's white never paints over what is there.
  cv::Mat under = img(r);
  cv::min(under, patch(cv::Rect(0, 0, r.width, r.height)), under);
}

// A vertical label whose top (its last character) starts `gap` pixels below y: column labels under a grid, so a
// long one grows downwards instead of into the cells.
void vertical_text_below(cv::Mat& img, const std::string& s, int x, int y, double scale, int gap = 8) {
  int base = 0;
  const int length = cv::getTextSize(s, kFont, scale, 1, &base).width + 4;
  vertical_text(img, s, {x, y + gap + length / 2}, scale);
}

std::vector<double> nice_ticks(double lo, double hi) {
  if (hi <= lo) hi = lo + 1;
  double raw = (hi - lo) / 5, mag = std::pow(10, std::floor(std::log10(raw))), step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) t.push_back(std::abs(v) < 1e-12 ? 0 : v);
  return t;
}

// Plain numbers as people write tick labels: 1000 and 2500, not 1e+03; 0.25; only the very small or very large
// in exponent form.
std::string format_number(double v) {
  char buf[32];
  if (v != 0 && (std::abs(v) < 0.001 || std::abs(v) >= 1e7)) std::snprintf(buf, sizeof buf, "%.2g", v);
  else if (std::abs(v) >= 100 && v == std::round(v)) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// Viridis-like ramp from dark blue to yellow, BGR.
cv::Scalar ramp(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const cv::Vec3d stops[] = {{84, 1, 68}, {139, 82, 59}, {141, 145, 33}, {98, 201, 94}, {37, 231, 253}};
  double p = t * 4;
  int i = std::min(3, static_cast<int>(p));
  double f = p - i;
  cv::Vec3d c = stops[i] * (1 - f) + stops[i + 1] * f;
  return {c[0], c[1], c[2]};
}
}  // namespace

cv::Mat draw_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                        const std::vector<Series>& series) {
  cv::Mat img(600, 960, CV_8UC3, kWhite);
  const cv::Rect plot(90, 60, 620, 460);
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (y0 > 0 && y0 < 0.5 * y1) y0 = 0;  // a loss curve reads best from zero
  auto xt = nice_ticks(x0, x1), yt = nice_ticks(y0, y1);
  x0 = std::min(x0, xt.front()), x1 = std::max(x1, xt.back()), y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
  auto px = [&](double x) { return plot.x + static_cast<int>((x - x0) / (x1 - x0 + 1e-300) * plot.width); };
  auto py = [&](double y) { return plot.y + plot.height - static_cast<int>((y - y0) / (y1 - y0 + 1e-300) * plot.height); };
  for (double t : xt) {
    cv::line(img, {px(t), plot.y}, {px(t), plot.y + plot.height}, kGrid);
    text(img, format_number(t), {px(t), plot.y + plot.height + 20}, 0.45, 1, true);
  }
  for (double t : yt) {
    cv::line(img, {plot.x, py(t)}, {plot.x + plot.width, py(t)}, kGrid);
    int base = 0;
    auto w = cv::getTextSize(format_number(t), kFont, 0.45, 1, &base).width;
    text(img, format_number(t), {plot.x - w - 8, py(t) + 5}, 0.45);
  }
  cv::rectangle(img, plot, kInk);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) pts.emplace_back(px(s.x[i]), py(s.y[i]));
    // Sparse series (a validation loss per epoch) show their points: a line alone would hide where they were taken.
    if (pts.size() <= 40)
      for (const auto& p : pts) cv::circle(img, p, 3, kColours[k % 8], cv::FILLED, cv::LINE_AA);
    cv::polylines(img, pts, false, kColours[k % 8], 2, cv::LINE_AA);
    // Legend, right of the plot.
    int ly = plot.y + 20 + static_cast<int>(k) * 26;
    cv::line(img, {plot.x + plot.width + 20, ly - 5}, {plot.x + plot.width + 50, ly - 5}, kColours[k % 8], 3, cv::LINE_AA);
    std::string name = s.name.size() > 26 ? "..." + s.name.substr(s.name.size() - 23) : s.name;
    text(img, name, {plot.x + plot.width + 58, ly}, 0.42);
  }
  text(img, title, {img.cols / 2, 35}, 0.7, 2, true);
  text(img, x_label, {plot.x + plot.width / 2, plot.y + plot.height + 50}, 0.55, 1, true);
  vertical_text(img, y_label, {25, plot.y + plot.height / 2}, 0.55);
  return img;
}

cv::Mat draw_bar_chart(const std::string& title, const std::string& y_label, const std::vector<std::string>& labels,
                       const std::vector<double>& values, double y_max) {
  const int n = static_cast<int>(values.size());
  cv::Mat img(560, std::max(640, 120 + 90 * n), CV_8UC3, kWhite);
  const cv::Rect plot(90, 60, img.cols - 130, 400);
  auto py = [&](double y) { return plot.y + plot.height - static_cast<int>(y / y_max * plot.height); };
  for (double t : nice_ticks(0, y_max)) {
    cv::line(img, {plot.x, py(t)}, {plot.x + plot.width, py(t)}, kGrid);
    text(img, format_number(t), {plot.x - 45, py(t) + 5}, 0.45);
  }
  const int slot = plot.width / std::max(1, n);
  for (int i = 0; i < n; ++i) {
    int x = plot.x + i * slot + slot / 6, w = slot * 2 / 3;
    cv::rectangle(img, {x, py(values[static_cast<size_t>(i)])}, {x + w, plot.y + plot.height}, kColours[0], cv::FILLED);
    text(img, format_number(values[static_cast<size_t>(i)]), {x + w / 2, py(values[static_cast<size_t>(i)]) - 6}, 0.42, 1, true);
    text(img, labels[static_cast<size_t>(i)], {x + w / 2, plot.y + plot.height + 22}, 0.45, 1, true);
  }
  cv::rectangle(img, plot, kInk);
  text(img, title, {img.cols / 2, 35}, 0.7, 2, true);
  vertical_text(img, y_label, {25, plot.y + plot.height / 2}, 0.55);
  return img;
}

cv::Mat draw_heatmap(const std::string& title, const std::string& row_axis, const std::string& column_axis,
                     const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels,
                     const std::vector<std::vector<double>>& cells, const std::vector<std::vector<std::string>>& annotations) {
  const int rows = static_cast<int>(row_labels.size()), cols = static_cast<int>(column_labels.size());
  const int cell_w = std::clamp(640 / std::max(1, cols), 40, 90), cell_h = std::clamp(480 / std::max(1, rows), 14, 60);
  const int left = 150, top = 70;
  int longest = 0, base = 0;  // the column labels stand below the grid, the axis title below them
  for (const auto& l : column_labels) longest = std::max(longest, cv::getTextSize(l, kFont, 0.42, 1, &base).width);
  cv::Mat img(top + rows * cell_h + std::max(150, longest + 50), left + cols * cell_w + 130, CV_8UC3, kWhite);
  double mx = 0;
  for (const auto& r : cells)
    for (double v : r) mx = std::max(mx, v);
  if (mx <= 0) mx = 1;
  for (int r = 0; r < rows; ++r) {
    text(img, row_labels[static_cast<size_t>(r)], {left - 8 - static_cast<int>(row_labels[static_cast<size_t>(r)].size()) * 8, top + r * cell_h + cell_h / 2 + 5}, 0.42);
    for (int c = 0; c < cols; ++c) {
      double v = cells[static_cast<size_t>(r)][static_cast<size_t>(c)];
      cv::Rect box(left + c * cell_w, top + r * cell_h, cell_w, cell_h);
      cv::rectangle(img, box, ramp(v / mx), cv::FILLED);
      if (!annotations.empty() && cell_h >= 18) {
        const auto& a = annotations[static_cast<size_t>(r)][static_cast<size_t>(c)];
        int base = 0;
        auto size = cv::getTextSize(a, kFont, 0.4, 1, &base);
        cv::putText(img, a, {box.x + (cell_w - size.width) / 2, box.y + cell_h / 2 + 5}, kFont, 0.4,
                    v / mx > 0.6 ? kInk : kWhite, 1, cv::LINE_AA);
      }
    }
  }
  for (int c = 0; c < cols; ++c)
    vertical_text_below(img, column_labels[static_cast<size_t>(c)], left + c * cell_w + cell_w / 2, top + rows * cell_h, 0.42);
  // Colour scale.
  const int sx = left + cols * cell_w + 40, sh = rows * cell_h;
  for (int y = 0; y < sh; ++y) cv::line(img, {sx, top + y}, {sx + 20, top + y}, ramp(1.0 - static_cast<double>(y) / sh));
  cv::rectangle(img, {sx, top, 20, sh}, kInk);
  text(img, format_number(mx), {sx + 24, top + 10}, 0.4);
  text(img, "0", {sx + 24, top + sh}, 0.4);
  text(img, title, {img.cols / 2, 35}, 0.65, 2, true);
  text(img, column_axis, {left + cols * cell_w / 2, img.rows - 15}, 0.5, 1, true);
  vertical_text(img, row_axis, {18, top + sh / 2}, 0.5);
  return img;
}

void write_png(const std::string& path, const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes)) raise("cannot encode ", path, " as PNG");
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace emotune
