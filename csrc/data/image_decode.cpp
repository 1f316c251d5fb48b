// Step 1 of data/image.h with OpenCV; without it (EMOTUNE_WITH_OPENCV off) the same functions say why an image
// file cannot become pixels in this build.
#include "data/image.h"

#ifdef EMOTUNE_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "data/image_size.h"

namespace emotune {
namespace {

#ifdef EMOTUNE_WITH_OPENCV
// Any depth and channel count → 8-bit RGB, then resized in 8 bits (INTER_AREA when shrinking, as a photo is
// averaged down; INTER_LINEAR when enlarging), as HF's processors resize the uint8 image before rescaling.
torch::Tensor to_rgb8(const cv::Mat& raw, const ImageSpec& spec, const std::string& source) {
  cv::Mat img;
  switch (raw.depth()) {
    case CV_8U: img = raw; break;
    case CV_16U: raw.convertTo(img, CV_8U, 1.0 / 257.0); break;  // 65535 → 255, rounded
    case CV_32F: case CV_64F: raw.convertTo(img, CV_8U, 255.0); break;  // [0,1] → [0,255], saturated
    default: raise(source, ": unsupported pixel depth ", raw.depth());
  }
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
  if (!img.isContinuous()) img = img.clone();
  auto hwc = torch::from_blob(img.data, {img.rows, img.cols, 3}, torch::kUInt8);
  return hwc.permute({2, 0, 1}).contiguous();
}

// ANYDEPTH keeps 16-bit depth, ANYCOLOR gray as gray. Not IMREAD_UNCHANGED: OpenCV ignores the EXIF orientation
// under it (and its alpha channel would be dropped below anyway); IGNORE_ORIENTATION when the spec says so.
int orientation_flag(const ImageSpec& spec) { return spec.decoding.apply_exif_orientation ? 0 : cv::IMREAD_IGNORE_ORIENTATION; }
int read_flags(const ImageSpec& spec) { return cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR | orientation_flag(spec); }

void check_pixel_limit(int64_t width, int64_t height, const ImageSpec& spec, const std::string& source) {
  const int64_t limit = spec.decoding.max_pixels;
  if (limit > 0 && width * height > limit)
    raise(source, ": image is ", width, "x", height, " = ", width * height, " pixels, over the limit of ", limit,
          " (data.max_image_pixels; 0 lifts it)");
}

// libjpeg's scaled decode for a large JPEG: the largest of 1/8, 1/4, 1/2 whose result still covers the input
// size whichever way the EXIF orientation turns it.
int reduced_jpeg_flags(const EncodedImageSize& size, const ImageSpec& spec) {
  const int64_t shorter = std::min(size.width, size.height), needed = std::max(spec.width, spec.height);
  for (int factor : {8, 4, 2}) {
    if (shorter / factor < needed) continue;
    const bool gray = size.channels == 1;
    switch (factor) {
      case 8: return (gray ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8) | orientation_flag(spec);
      case 4: return (gray ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4) | orientation_flag(spec);
      default: return (gray ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2) | orientation_flag(spec);
    }
  }
  return read_flags(spec);
}

}  // namespace

// The header's size first (finding 2): over the limit is refused before a byte is decoded; a large image is
// decoded reduced (JPEG) and shrunk in its stored depth, so the 8-bit conversion sees the input size only.
torch::Tensor decode_rgb8(std::string_view bytes, const ImageSpec& spec, const std::string& source) {
  const auto size = read_encoded_image_size(bytes);
  if (size) check_pixel_limit(size->width, size->height, spec, source);
  const bool large = size && size->pixels() > spec.decoding.reduce_above_pixels;
  const int flags = large && size->format == ImageFormat::Jpeg ? reduced_jpeg_flags(*size, spec) : read_flags(spec);
  if (bytes.size() > static_cast<size_t>(INT_MAX)) raise(source, ": ", bytes.size(), " bytes is more than an image file can be here (2 GiB)");
  const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat raw = bytes.empty() ? cv::Mat() : cv::imdecode(encoded, flags);
  if (raw.empty()) raise(source, ": cannot decode image (corrupt or unsupported format)");
  if (!size) check_pixel_limit(raw.cols, raw.rows, spec, source);  // formats without a header reader: after decoding
  if (static_cast<int64_t>(raw.total()) > spec.decoding.reduce_above_pixels)
    cv::resize(raw, raw, cv::Size(static_cast<int>(spec.width), static_cast<int>(spec.height)), 0, 0, cv::INTER_AREA);
  return to_rgb8(raw, spec, source);
}

bool image_decoding_available() { return true; }

#else

}  // namespace

torch::Tensor decode_rgb8(std::string_view, const ImageSpec&, const std::string& source) {
  raise(source, ": cannot decode image files: this emotune was built without OpenCV (EMOTUNE_WITH_OPENCV off). "
        "Write a pixel cache where OpenCV is (`emotune cache-pixels -c CONFIG`) and set data.pixel_cache to it");
}

bool image_decoding_available() { return false; }

#endif

}  // namespace emotune
