// Image decoding and preprocessing with OpenCV: any depth (8/16-bit, float) and channel count (gray, BGR,
// BGRA) becomes RGB float in [0,1], resized to the bundle's input size and normalised with its mean/std.
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace emotune {

struct ImageSpec {
  int64_t height = 0, width = 0;
  std::vector<double> mean{0.5, 0.5, 0.5}, std{0.5, 0.5, 0.5};
  // A JPEG's EXIF orientation turns the pixels as a viewer sees them (Hugging Face's load_image does the same,
  // exif_transpose); false takes the stored pixels as given, as PIL's Image.open in the reference code does.
  // The config's data.exif_orientation.
  bool apply_exif_orientation = true;
};

// [3,H,W] float32. Throws emotune::Error naming the file when it is missing or cannot be decoded.
torch::Tensor load_image(const std::string& path, const ImageSpec& spec);
// The same from encoded bytes (for tests and in-memory sources); `source` names them in errors.
torch::Tensor decode_image(const std::vector<unsigned char>& bytes, const ImageSpec& spec, const std::string& source);

}  // namespace emotune
