#include "data/image_size.h"

namespace emotune {
namespace {

// Bounds-checked little- and big-endian reads; out of range reads nullopt.
struct Bytes {
  std::string_view data;
  std::optional<uint32_t> be(size_t at, int n) const {
    if (at + static_cast<size_t>(n) > data.size()) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(data[at + static_cast<size_t>(i)]);
    return v;
  }
  std::optional<uint32_t> le(size_t at, int n) const {
    if (at + static_cast<size_t>(n) > data.size()) return std::nullopt;
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(data[at + static_cast<size_t>(i)]);
    return v;
  }
  bool starts(size_t at, std::string_view s) const { return data.size() >= at + s.size() && data.substr(at, s.size()) == s; }
};

std::optional<EncodedImageSize> sized(ImageFormat format, int64_t width, int64_t height, int channels = 0) {
  if (width <= 0 || height <= 0) return std::nullopt;
  return EncodedImageSize{format, width, height, channels};
}

// PNG: the 8-byte signature, then IHDR first: length, "IHDR", width, height (big-endian; PNG spec 11.2.2).
std::optional<EncodedImageSize> png_size(const Bytes& b) {
  if (!b.starts(0, "\x89PNG\r\n\x1a\n") || !b.starts(12, "IHDR")) return std::nullopt;
  auto w = b.be(16, 4), h = b.be(20, 4);
  if (!w || !h) return std::nullopt;
  return sized(ImageFormat::Png, *w, *h);
}

// JPEG: segments FF xx [length] after SOI; the frame header SOFn (C0–CF but C4 DHT, C8 JPG, CC DAC) holds
// precision, height, width and the component count (ITU T.81 B.2.2). Markers without a length are skipped.
std::optional<EncodedImageSize> jpeg_size(const Bytes& b) {
  if (!b.starts(0, "\xff\xd8")) return std::nullopt;
  for (size_t at = 2; at + 4 <= b.data.size();) {
    if (static_cast<unsigned char>(b.data[at]) != 0xff) return std::nullopt;
    const auto marker = static_cast<unsigned char>(b.data[at + 1]);
    if (marker == 0xff) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {  // TEM, RSTn: no length
      at += 2;
      continue;
    }
    if (marker == 0xd9 || marker == 0xda) return std::nullopt;  // EOI or scan data before any frame header
    auto length = b.be(at + 2, 2);
    if (!length || *length < 2) return std::nullopt;
    if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
      auto h = b.be(at + 5, 2), w = b.be(at + 7, 2), n = b.be(at + 9, 1);
      if (!h || !w || !n) return std::nullopt;
      return sized(ImageFormat::Jpeg, *w, *h, static_cast<int>(*n));
    }
    at += 2 + *length;
  }
  return std::nullopt;
}

// BMP: "BM", then BITMAPINFOHEADER's width and height (signed 32-bit little-endian; a negative height is a
// top-down bitmap) at 18 and 22. The old 12-byte BITMAPCOREHEADER has 16-bit ones.
std::optional<EncodedImageSize> bmp_size(const Bytes& b) {
  if (!b.starts(0, "BM")) return std::nullopt;
  auto header = b.le(14, 4);
  if (!header) return std::nullopt;
  if (*header == 12) {
    auto w = b.le(18, 2), h = b.le(20, 2);
    if (!w || !h) return std::nullopt;
    return sized(ImageFormat::Bmp, *w, *h);
  }
  auto w = b.le(18, 4), h = b.le(22, 4);
  if (!w || !h) return std::nullopt;
  const int64_t width = static_cast<int32_t>(*w), height = static_cast<int32_t>(*h);
  return sized(ImageFormat::Bmp, width, height < 0 ? -height : height);
}

// WebP: "RIFF" size "WEBP", then the first chunk: VP8X (canvas width−1, height−1 as 24-bit little-endian at
// 24 and 27), VP8L (after the 0x2f signature, 14-bit width−1 and height−1) or VP8 (after the 3-byte frame tag
// and the 9d 01 2a start code, 14-bit width and height).
std::optional<EncodedImageSize> webp_size(const Bytes& b) {
  if (!b.starts(0, "RIFF") || !b.starts(8, "WEBP")) return std::nullopt;
  if (b.starts(12, "VP8X")) {
    auto w = b.le(24, 3), h = b.le(27, 3);
    if (!w || !h) return std::nullopt;
    return sized(ImageFormat::Webp, int64_t{*w} + 1, int64_t{*h} + 1);
  }
  if (b.starts(12, "VP8L")) {
    auto bits = b.le(21, 4);
    if (!b.starts(20, "\x2f") || !bits) return std::nullopt;
    return sized(ImageFormat::Webp, (*bits & 0x3fff) + 1, ((*bits >> 14) & 0x3fff) + 1);
  }
  if (b.starts(12, "VP8 ")) {
    auto w = b.le(26, 2), h = b.le(28, 2);
    if (!b.starts(23, "\x9d\x01\x2a") || !w || !h) return std::nullopt;
    return sized(ImageFormat::Webp, *w & 0x3fff, *h & 0x3fff);
  }
  return std::nullopt;
}

}  // namespace

std::optional<EncodedImageSize> read_encoded_image_size(std::string_view bytes) {
  const Bytes b{bytes};
  for (auto reader : {png_size, jpeg_size, bmp_size, webp_size})
    if (auto size = reader(b)) return size;
  return std::nullopt;
}

}  // namespace emotune
