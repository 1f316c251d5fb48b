// Image decoding and preprocessing, in two steps:
//   1. decode_rgb8 (OpenCV, data/image_decode.cpp): any depth (8/16-bit, float) and channel count (gray, BGR,
//      BGRA) becomes 8-bit RGB, resized in 8 bits to the bundle's input size — as Hugging Face's image
//      processors resize the uint8 PIL image before they rescale. This is what a pixel cache stores
//      (data/pixel_cache.h), so pixels from the cache and from the file are the same bits by construction.
//   2. normalize_pixels: uint8 → float in [0,1] → (x - mean) / std with the bundle's mean/std.
// Without OpenCV (EMOTUNE_WITH_OPENCV off: the GPU machines) step 1 is unavailable and images come from a
// pixel cache written where OpenCV is (`emotune cache-pixels`).
#pragma once
#include <torch/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace emotune {

// PIL's decompression-bomb limit (2 × Image.MAX_IMAGE_PIXELS): what the reference code's loader refuses.
constexpr int64_t kDefaultMaxImagePixels = 178956970;
// Above this many pixels an image is shrunk in its stored depth before it becomes float (and a JPEG is decoded
// at 1/2, 1/4 or 1/8 scale by libjpeg where the result stays at least the input size), so the peak memory is
// about the decoded image itself. Below it (ordinary photos) the float path runs exactly as it always has.
constexpr int64_t kReduceAbovePixels = 4096 * 4096;

// How files become pixels; the config's data section (masp/image_features.h image_decoding()).
struct ImageDecoding {
  // A JPEG's EXIF orientation turns the pixels as a viewer sees them (Hugging Face's load_image does the same,
  // exif_transpose); false takes the stored pixels as given, as PIL's Image.open in the reference code does.
  // data.exif_orientation.
  bool apply_exif_orientation = true;
  // An image of more pixels is refused, naming the file and its size (0: no limit). data.max_image_pixels.
  int64_t max_pixels = kDefaultMaxImagePixels;
  int64_t reduce_above_pixels = kReduceAbovePixels;
  // data.pixel_cache: a directory written by `emotune cache-pixels`; when set, every image comes from it
  // (checked against these settings and, where the file exists, against the file's bytes).
  std::string pixel_cache;
};

struct ImageSpec {
  int64_t height = 0, width = 0;
  std::vector<double> mean{0.5, 0.5, 0.5}, std{0.5, 0.5, 0.5};
  ImageDecoding decoding;
};

// Whether this build can decode image files (false without OpenCV).
bool image_decoding_available();

// [3,H,W] uint8 RGB at the spec's size (step 1). Throws emotune::Error naming `source` when it cannot be
// decoded or is over the pixel limit, and, without OpenCV, saying why it cannot be decoded here.
torch::Tensor decode_rgb8(std::string_view bytes, const ImageSpec& spec, const std::string& source);
// [..., 3, H, W] uint8 → float32 normalised with the spec's mean/std (step 2).
torch::Tensor normalize_pixels(const torch::Tensor& rgb8, const ImageSpec& spec);

// [3,H,W] float32, from the pixel cache when spec.decoding.pixel_cache is set, else decoded. Throws emotune::Error naming the file when it is missing, cannot be decoded or is over
// the pixel limit.
torch::Tensor load_image(const std::string& path, const ImageSpec& spec);
// The same from encoded bytes (for tests and in-memory sources); `source` names them in errors.
torch::Tensor decode_image(const std::vector<unsigned char>& bytes, const ImageSpec& spec, const std::string& source);
torch::Tensor decode_image_bytes(std::string_view bytes, const ImageSpec& spec, const std::string& source);

}  // namespace emotune
