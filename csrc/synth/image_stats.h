// Brightness and colorfulness measured from pixels, as the affect world annotates them.
//   brightness   = mean luma Y = 0.299 R + 0.587 G + 0.114 B over all pixels, divided by 255 (ITU-R BT.601).
//   colorfulness = Hasler & Süsstrunk (2003): with rg = R - G and yb = (R + G)/2 - B,
//                  M = sqrt(σ_rg² + σ_yb²) + 0.3 sqrt(μ_rg² + μ_yb²), normalised as min(1, M / 150)
//                  (150 is about the metric's value for an extremely colourful image).
// Both are rounded to 0.1 in annotations, like EmoSet's.
#pragma once
#include <opencv2/core.hpp>

namespace emotune {

double measure_brightness(const cv::Mat& bgr8);
double measure_colorfulness(const cv::Mat& bgr8);
double round_to_tenth(double v);

}  // namespace emotune
