// An encoded image's width and height read from its header, before anything is decoded, so that a huge image
// is refused or decoded reduced instead of being expanded whole into memory (issue 34, finding 2: a
// 20,000 × 20,000 PNG took 10.7 GB to become 64 × 64 pixels). PNG (IHDR), JPEG (the SOF segment), BMP and
// WebP (VP8, VP8L, VP8X), which is what photo datasets hold; other formats give nullopt and are measured after
// decoding. The header is untrusted input: every read is bounds-checked, and a malformed header is nullopt
// (the decoder then reports the file as undecodable).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace emotune {

enum class ImageFormat { Png, Jpeg, Bmp, Webp };

struct EncodedImageSize {
  ImageFormat format;
  int64_t width = 0, height = 0;
  int channels = 0;  // JPEG: its component count (1 gray, 3 colour, 4 CMYK); 0 where the header does not say
  int64_t pixels() const { return width * height; }
};

std::optional<EncodedImageSize> read_encoded_image_size(std::string_view bytes);

}  // namespace emotune
