#include "data/image.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "core/error.h"

namespace emotune {
namespace {

torch::Tensor preprocess(const cv::Mat& raw, const ImageSpec& spec, const std::string& source) {
  if (raw.empty()) raise(source, ": cannot decode image (corrupt or unsupported format)");
  cv::Mat img;
  double scale = 1.0;
  switch (raw.depth()) {
    case CV_8U: scale = 1.0 / 255.0; break;
    case CV_16U: scale = 1.0 / 65535.0; break;
    case CV_32F: case CV_64F: scale = 1.0; break;
    default: raise(source, ": unsupported pixel depth ", raw.depth());
  }
  raw.convertTo(img, CV_32F, scale);
  switch (img.channels()) {
    case 1: cv::cvtColor(img, img, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(img, img, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(img, img, cv::COLOR_BGRA2RGB); break;
    default: raise(source, ": unsupported channel count ", img.channels());
  }
  if (img.rows != spec.height || img.cols != spec.width) {
    bool shrinking = img.rows > spec.height || img.cols > spec.width;
    cv::resize(img, img, cv::Size(static_cast<int>(spec.width), static_cast<int>(spec.height)), 0, 0,
               shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  auto hwc = torch::from_blob(img.data, {img.rows, img.cols, 3}, torch::kFloat32).clone();
  auto chw = hwc.permute({2, 0, 1}).contiguous();
  auto mean = torch::tensor(spec.mean, torch::kFloat64).to(torch::kFloat32).view({3, 1, 1});
  auto std = torch::tensor(spec.std, torch::kFloat64).to(torch::kFloat32).view({3, 1, 1});
  return (chw - mean) / std;
}

// ANYDEPTH keeps 16-bit depth, ANYCOLOR gray as gray. Not IMREAD_UNCHANGED: OpenCV ignores the EXIF orientation
// under it (and its alpha channel would be dropped below anyway); IGNORE_ORIENTATION when the spec says so.
int read_flags(const ImageSpec& spec) {
  return cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR | (spec.apply_exif_orientation ? 0 : cv::IMREAD_IGNORE_ORIENTATION);
}

}  // namespace

torch::Tensor load_image(const std::string& path, const ImageSpec& spec) {
  if (!std::filesystem::exists(path)) raise(path, ": image file not found");
  return preprocess(cv::imread(path, read_flags(spec)), spec, path);
}

torch::Tensor decode_image(const std::vector<unsigned char>& bytes, const ImageSpec& spec, const std::string& source) {
  return preprocess(cv::imdecode(bytes, read_flags(spec)), spec, source);
}

}  // namespace emotune
