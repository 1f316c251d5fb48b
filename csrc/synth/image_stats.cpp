#include "synth/image_stats.h"

#include <cmath>

namespace emotune {

double measure_brightness(const cv::Mat& bgr8) {
  cv::Scalar m = cv::mean(bgr8);
  return (0.114 * m[0] + 0.587 * m[1] + 0.299 * m[2]) / 255.0;
}

double measure_colorfulness(const cv::Mat& bgr8) {
  cv::Mat f;
  bgr8.convertTo(f, CV_64F);
  std::vector<cv::Mat> ch;
  cv::split(f, ch);
  cv::Mat rg = ch[2] - ch[1];
  cv::Mat yb = 0.5 * (ch[2] + ch[1]) - ch[0];
  cv::Scalar mu_rg, sd_rg, mu_yb, sd_yb;
  cv::meanStdDev(rg, mu_rg, sd_rg);
  cv::meanStdDev(yb, mu_yb, sd_yb);
  double m = std::sqrt(sd_rg[0] * sd_rg[0] + sd_yb[0] * sd_yb[0]) + 0.3 * std::sqrt(mu_rg[0] * mu_rg[0] + mu_yb[0] * mu_yb[0]);
  return std::min(1.0, m / 150.0);
}

double round_to_tenth(double v) { return std::round(v * 10.0) / 10.0; }

}  // namespace emotune
