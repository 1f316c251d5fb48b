#include "data/image.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/pixel_cache.h"

namespace emotune {

// × (1/255), not ÷ 255: the float OpenCV's convertTo gave before decoding moved to 8 bits, so an image already at
// the bundle's size gives the same floats as it always has.
torch::Tensor normalize_pixels(const torch::Tensor& rgb8, const ImageSpec& spec) {
  auto x = rgb8.to(torch::kFloat32).mul(1.0 / 255.0);
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(rgb8.device());
  auto mean = torch::tensor(spec.mean, torch::kFloat64).to(options).view({3, 1, 1});
  auto std = torch::tensor(spec.std, torch::kFloat64).to(options).view({3, 1, 1});
  return (x - mean) / std;
}

torch::Tensor load_image(const std::string& path, const ImageSpec& spec) {
  if (!spec.decoding.pixel_cache.empty()) return normalize_pixels(cached_pixels(path, spec), spec);
  if (!std::filesystem::exists(path)) raise(path, ": image file not found");
  return normalize_pixels(decode_rgb8(read_file(path), spec, path), spec);
}

torch::Tensor decode_image(const std::vector<unsigned char>& bytes, const ImageSpec& spec, const std::string& source) {
  return decode_image_bytes(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), spec, source);
}

torch::Tensor decode_image_bytes(std::string_view bytes, const ImageSpec& spec, const std::string& source) {
  return normalize_pixels(decode_rgb8(bytes, spec, source), spec);
}

}  // namespace emotune
