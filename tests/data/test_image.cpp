// Image sizes from headers, the pixel limit and the reduced decode of large images (issue 34, finding 2).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/image.h"
#include "data/image_size.h"
#include "test_support.h"

#include <gtest/gtest.h>

using namespace emotune;

namespace {
// A smooth colour gradient with some texture, so that resizing paths can be compared meaningfully.
cv::Mat test_picture(int rows, int cols, int type = CV_8UC3) {
  cv::Mat m(rows, cols, CV_8UC3);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(255 * x / cols), static_cast<uchar>(255 * y / rows),
                                        static_cast<uchar>((x / 7 + y / 5) % 2 ? 200 : 40));
  if (type == CV_8UC1) cv::cvtColor(m, m, cv::COLOR_BGR2GRAY);
  return m;
}

std::string encoded(const cv::Mat& m, const std::string& ext) {
  std::vector<unsigned char> bytes;
  EXPECT_TRUE(cv::imencode(ext, m, bytes)) << ext;
  return {bytes.begin(), bytes.end()};
}

std::vector<unsigned char> as_vector(const std::string& s) { return {s.begin(), s.end()}; }

// The first 33 bytes of a PNG: signature and IHDR (8-bit RGB) of the given size, and nothing to decode.
std::string png_header_only(uint32_t width, uint32_t height) {
  std::string s("\x89PNG\r\n\x1a\n", 8);
  s += std::string("\0\0\0\x0dIHDR", 8);
  for (uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
  s += std::string("\x08\x02\0\0\0", 5) + std::string(4, '\0');  // depth, colour type, …, a CRC
  return s;
}
}  // namespace

TEST(ImageSize, HeadersOfEveryFormatPhotoDatasetsUse) {
  const auto colour = test_picture(23, 37), gray = test_picture(23, 37, CV_8UC1);
  struct Case {
    std::string ext;
    ImageFormat format;
    const cv::Mat* picture;
    int channels;
  };
  for (const auto& c : {Case{".png", ImageFormat::Png, &colour, 0}, Case{".jpg", ImageFormat::Jpeg, &colour, 3},
                        Case{".jpg", ImageFormat::Jpeg, &gray, 1}, Case{".bmp", ImageFormat::Bmp, &colour, 0},
                        Case{".webp", ImageFormat::Webp, &colour, 0}}) {
    auto size = read_encoded_image_size(encoded(*c.picture, c.ext));
    ASSERT_TRUE(size) << c.ext;
    EXPECT_EQ(size->format, c.format) << c.ext;
    EXPECT_EQ(size->width, 37) << c.ext;
    EXPECT_EQ(size->height, 23) << c.ext;
    EXPECT_EQ(size->channels, c.channels) << c.ext;
  }
  std::vector<int> lossless{cv::IMWRITE_WEBP_QUALITY, 101};  // VP8L rather than VP8
  std::vector<unsigned char> webp;
  ASSERT_TRUE(cv::imencode(".webp", colour, webp, lossless));
  auto size = read_encoded_image_size(std::string(webp.begin(), webp.end()));
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width * 1000 + size->height, 37023);
  // Truncated or foreign headers are no size, never a read past the end.
  auto png = encoded(colour, ".png");
  for (size_t n : {0, 8, 16, 23}) EXPECT_FALSE(read_encoded_image_size(png.substr(0, n))) << n;
  EXPECT_FALSE(read_encoded_image_size("P6\n37 23\n255\n"));
}

TEST(Image, OverThePixelLimitIsRefusedBeforeDecodingNamingFileAndSize) {
  // 20,000 × 20,000 (400 M pixels): refused from the header alone, so nothing is allocated for it.
  auto dir = emotune::testing::scratch_dir("huge_image");
  const std::string path = dir + "/huge.png";
  write_file_atomic(path, png_header_only(20000, 20000));
  ImageSpec spec{64, 64, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {}};
  try {
    load_image(path, spec);
    FAIL() << "a 400 M pixel image was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("20000x20000"), std::string::npos) << what;
    EXPECT_NE(what.find("data.max_image_pixels"), std::string::npos) << what;
  }
  // The limit is the config's: a small one refuses a small image; 0 lifts it.
  auto png = as_vector(encoded(test_picture(32, 32), ".png"));
  spec.decoding.max_pixels = 1000;
  EXPECT_THROW(decode_image(png, spec, "small.png"), Error);
  spec.decoding.max_pixels = 0;
  EXPECT_EQ(decode_image(png, spec, "small.png").sizes(), (std::vector<int64_t>{3, 64, 64}));
  // A format without a header reader (PNM) is measured after decoding, and refused alike.
  auto pnm = as_vector(encoded(test_picture(32, 32), ".ppm"));
  spec.decoding.max_pixels = 1000;
  EXPECT_THROW(decode_image(pnm, spec, "small.ppm"), Error);
}

// Above reduce_above_pixels a JPEG is decoded at a libjpeg scale and any image is shrunk in 8 bits before it
// becomes float: the pixels stay what the exact float path gives, within JPEG and 8-bit rounding.
TEST(Image, LargeImagesDecodedReducedMatchTheExactPath) {
  const auto picture = test_picture(600, 800);
  ImageSpec exact{64, 64, {0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}, {}};
  ImageSpec reduced = exact;
  reduced.decoding.reduce_above_pixels = 10000;
  for (const std::string ext : {".jpg", ".png"}) {
    auto bytes = as_vector(encoded(picture, ext));
    auto a = decode_image(bytes, exact, "large" + ext), b = decode_image(bytes, reduced, "large" + ext);
    ASSERT_EQ(a.sizes(), b.sizes());
    EXPECT_LT((a - b).abs().mean().item<double>(), 0.01) << ext;
    EXPECT_LT((a - b).abs().max().item<double>(), ext == ".png" ? 1.0 / 255 + 1e-6 : 0.1) << ext;
  }
  // Grayscale JPEGs take the grayscale reduced decode and still come out RGB.
  auto gray = as_vector(encoded(test_picture(600, 800, CV_8UC1), ".jpg"));
  auto g = decode_image(gray, reduced, "gray.jpg");
  EXPECT_TRUE(torch::allclose(g[0], g[1]) && torch::allclose(g[1], g[2]));
  EXPECT_LT((g - decode_image(gray, exact, "gray.jpg")).abs().mean().item<double>(), 0.01);
}
