#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/aspect_answer.h"
#include "data/image.h"
#include "data/manifest.h"
#include "masp/samples.h"
#include "masp/stages.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

TEST(Image, GrayscaleSixteenBitAndAlphaDecodeToTheSameRgb) {
  auto dir = testing::scratch_dir("img");
  ImageSpec spec{8, 8, {0, 0, 0}, {1, 1, 1}, {}};
  cv::Mat gray8(8, 8, CV_8UC1, cv::Scalar(128));
  cv::Mat gray16(8, 8, CV_16UC1, cv::Scalar(128 * 257));
  cv::Mat bgra(8, 8, CV_8UC4, cv::Scalar(128, 128, 128, 255));
  cv::imwrite(dir + "/g8.png", gray8);
  cv::imwrite(dir + "/g16.png", gray16);
  cv::imwrite(dir + "/a.png", bgra);
  auto a = load_image(dir + "/g8.png", spec), b = load_image(dir + "/g16.png", spec), c = load_image(dir + "/a.png", spec);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 8, 8}));
  EXPECT_TRUE(torch::allclose(a, b, 0, 1e-6));
  EXPECT_TRUE(torch::allclose(a, c, 0, 1e-6));
  EXPECT_NEAR(a.mean().item<double>(), 128.0 / 255.0, 1e-6);
}

TEST(Image, ChannelsAreRgbAndResized) {
  auto dir = testing::scratch_dir("img");
  cv::Mat red(20, 30, CV_8UC3, cv::Scalar(0, 0, 255));  // BGR
  cv::imwrite(dir + "/r.png", red);
  auto t = load_image(dir + "/r.png", {16, 16, {0, 0, 0}, {1, 1, 1}, {}});
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{3, 16, 16}));
  EXPECT_NEAR(t[0].mean().item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(t[2].mean().item<double>(), 0.0, 1e-6);
}

// A phone photo stored landscape with EXIF orientation 6 ("rotate 90° clockwise to view"): turned by default,
// as a viewer sees it, and taken as stored with data.exif_orientation: false (issue 34, finding 10).
TEST(Image, ExifOrientationTurnsThePhotoUnlessSwitchedOff) {
  cv::Mat stored(20, 40, CV_8UC3, cv::Scalar(255, 255, 255));
  stored(cv::Rect(0, 0, 20, 20)).setTo(cv::Scalar(0, 0, 0));  // left half black
  std::vector<unsigned char> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", stored, jpeg));
  // APP1 "Exif": a big-endian TIFF header and one IFD entry, Orientation (0x0112), SHORT, 1, value 6.
  const std::vector<unsigned char> exif{0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,
                                        0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
                                        0x00, 0x00, 0x00, 0x00};
  jpeg.insert(jpeg.begin() + 2, exif.begin(), exif.end());  // right after SOI
  ImageSpec spec{40, 20, {0.0, 0.0, 0.0}, {1.0, 1.0, 1.0}, {}};  // the viewer's portrait shape, pixels in [0, 1]
  auto turned = decode_image(jpeg, spec, "exif.jpg");
  EXPECT_LT(turned.slice(1, 0, 16).mean().item<double>(), 0.1) << "the black left half is on top once turned";
  EXPECT_GT(turned.slice(1, 24, 40).mean().item<double>(), 0.9);
  spec.decoding.apply_exif_orientation = false;
  auto as_stored = decode_image(jpeg, spec, "exif.jpg");  // squeezed into the portrait shape, unturned
  EXPECT_LT(as_stored.slice(2, 0, 8).mean().item<double>(), 0.1) << "black stays on the left";
  EXPECT_GT(as_stored.slice(2, 12, 20).mean().item<double>(), 0.9);
}

TEST(AspectAnswer, BinsAndNormalisation) {
  EXPECT_EQ(brightness_bin(0.0), "very low");
  EXPECT_EQ(brightness_bin(0.2), "low");
  EXPECT_EQ(brightness_bin(0.5), "moderate");
  EXPECT_EQ(brightness_bin(0.79), "high");
  EXPECT_EQ(brightness_bin(1.0), "very high");
  EXPECT_EQ(*aspect_answer("Amusement_Park", false, "m:1", "scene"), "amusement park");
  EXPECT_EQ(*aspect_answer(nlohmann::json::array({"Dog", "ball"}), false, "m:1", "object"), "dog, ball");
  EXPECT_FALSE(aspect_answer(0.0, true, "m:1", "brightness")) << "reference-code quirk when enabled";
  EXPECT_EQ(*aspect_answer(0.0, false, "m:1", "brightness"), "very low");
  EXPECT_FALSE(aspect_answer("", false, "m:1", "scene"));
  EXPECT_THROW(aspect_answer(1.5, false, "m:1", "brightness"), Error);
}

class ManifestErrors : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    auto path = testing::scratch_dir("m") + "/manifest.jsonl";
    std::ofstream(path) << text;
    return path;
  }
  std::string error_of(const std::function<void()>& f) { return testing::error_message(f); }
};

TEST_F(ManifestErrors, BadLinesAreNamed) {
  auto p = write("{\"image\": \"a.jpg\", \"split\": \"train\"}\n{\"image\": \"b.jpg\", \"split\": \n");
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":2: invalid JSON"), std::string::npos);
  p = write("{\"image\": \"a.jpg\", \"split\": \"train\", \"lable\": \"awe\"}\n");
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":1: unknown field 'lable'"), std::string::npos);
  p = write("{\"split\": \"train\"}\n");
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":1: missing field 'image'"), std::string::npos);
}

// Issue 34, finding 4: the same image twice in one split for one user would train twice.
TEST_F(ManifestErrors, DuplicateRowsNameBothLinesOrAreDroppedAndCounted) {
  auto p = write("{\"image\": \"a.jpg\", \"split\": \"train\", \"label\": \"awe\"}\n"
                 "{\"image\": \"a.jpg\", \"split\": \"test\", \"label\": \"awe\"}\n"         // another split: fine
                 "{\"image\": \"a.jpg\", \"split\": \"train\", \"user\": \"u1\"}\n"          // another user: fine
                 "{\"image\": \"./a.jpg\", \"split\": \"train\", \"label\": \"fear\"}\n");   // the first again
  auto error = error_of([&] { load_manifest(p); });
  EXPECT_NE(error.find(p + ":4: duplicate of line 1"), std::string::npos) << error;
  EXPECT_NE(error.find("data.duplicate_rows: drop"), std::string::npos) << error;
  auto m = load_manifest(p, /*drop_duplicate_rows=*/true);
  EXPECT_EQ(m.rows.size(), 3u);
  EXPECT_EQ(m.dropped_duplicates, 1);
  EXPECT_EQ(m.split("train").at(0).label, "awe") << "the first row is kept";
}

// Sequences (Lantern, docs/data.md): read with their speaker and text; a gap, a repeated position, a sequence over two
// splits and a position without a sequence are errors naming the lines.
TEST_F(ManifestErrors, SequencesRunWithoutGapsInOneSplit) {
  auto row = [](const char* image, const char* split, const char* sequence, int position) {
    return concat("{\"image\": \"", image, "\", \"split\": \"", split, "\", \"sequence\": \"", sequence, "\", \"position\": ", position, "}\n");
  };
  auto p = write(row("b.jpg", "test", "d1", 1) + row("a.jpg", "test", "d1", 0) +
                 "{\"image\": \"c.jpg\", \"split\": \"test\", \"sequence\": \"d2\", \"position\": 0, \"speaker\": \"M\", \"text\": \"Hi.\"}\n" +
                 "{\"image\": \"d.jpg\", \"split\": \"test\"}\n");
  auto m = load_manifest(p);
  ASSERT_EQ(m.rows.size(), 4u);
  EXPECT_EQ(m.rows[0].sequence, "d1");
  EXPECT_EQ(m.rows[0].position, 1);
  EXPECT_EQ(m.rows[2].speaker, "M");
  EXPECT_EQ(m.rows[2].text, "Hi.");
  EXPECT_EQ(m.rows[3].position, -1);
  p = write(row("a.jpg", "test", "d1", 0) + row("b.jpg", "test", "d1", 2));
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ": sequence 'd1' has no position 1 (positions run 0..n-1; line 2 has 2)"), std::string::npos);
  p = write(row("a.jpg", "test", "d1", 0) + row("b.jpg", "test", "d1", 0));
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":2: sequence 'd1' has position 0 twice (also line 1)"), std::string::npos);
  p = write(row("a.jpg", "test", "d1", 0) + row("b.jpg", "train", "d1", 1));
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":2: sequence 'd1' is in split 'train' here and in 'test' on line 1"), std::string::npos);
  p = write("{\"image\": \"a.jpg\", \"split\": \"test\", \"position\": 0}\n");
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":1: field 'position' without 'sequence'"), std::string::npos);
}

// Ratings (the dimension head's targets, docs/data.md): finite numbers by name, else an error naming the line and key.
TEST_F(ManifestErrors, DimensionsAreFiniteNumbersByName) {
  auto p = write("{\"image\": \"a.jpg\", \"split\": \"test\", \"dimensions\": {\"valence\": 6.5, \"arousal\": 3}}\n"
                 "{\"image\": \"b.jpg\", \"split\": \"test\"}\n");
  auto m = load_manifest(p);
  EXPECT_EQ(m.rows[0].dimensions, (std::map<std::string, double>{{"arousal", 3.0}, {"valence", 6.5}}));
  EXPECT_TRUE(m.rows[1].dimensions.empty());
  p = write("{\"image\": \"a.jpg\", \"split\": \"test\", \"dimensions\": {\"valence\": \"high\"}}\n");
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":1: dimension 'valence' must be a finite number, got \"high\""), std::string::npos);
  p = write("{\"image\": \"a.jpg\", \"split\": \"test\", \"dimensions\": [6.5, 3]}\n");
  EXPECT_NE(error_of([&] { load_manifest(p); }).find(p + ":1: field 'dimensions' must be an object of numbers by name"), std::string::npos);
}

TEST_F(ManifestErrors, MissingAndCorruptImagesNameTheLineOrAreCountedWhenSkipping) {
  auto dir = testing::scratch_dir("m");
  cv::imwrite(dir + "/good.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  std::string jpeg_bytes = "\xFF\xD8\xFF\xE0 this is not really a jpeg";
  write_file_atomic(dir + "/corrupt.jpg", jpeg_bytes);
  auto path = dir + "/manifest.jsonl";
  std::ofstream(path) << "{\"image\": \"good.png\", \"split\": \"train\", \"label\": \"awe\"}\n"
                      << "{\"image\": \"missing.png\", \"split\": \"train\", \"label\": \"awe\"}\n"
                      << "{\"image\": \"corrupt.jpg\", \"split\": \"test\", \"label\": \"awe\"}\n";
  EmotuneConfig c = testing::small_config(path, dir + "/run");
  auto vlm = open_bundle(c);
  auto msg = error_of([&] { open_split(*vlm, c, "train"); });
  EXPECT_NE(msg.find(path + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing.png: image file not found"), std::string::npos) << msg;
  msg = error_of([&] { open_split(*vlm, c, "test"); });
  EXPECT_NE(msg.find(path + ":3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot decode image"), std::string::npos) << msg;
  c.data.skip_bad_images = true;
  auto kept = open_split(*vlm, c, "train");
  EXPECT_EQ(kept->size(), 1);
  EXPECT_EQ(kept->skipped(), 1);
  EXPECT_NE(kept->skip_messages().front().find(path + ":2"), std::string::npos);
}

TEST_F(ManifestErrors, UnknownLabelIsNamed) {
  auto dir = testing::scratch_dir("m");
  cv::imwrite(dir + "/good.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  auto path = dir + "/manifest.jsonl";
  std::ofstream(path) << "{\"image\": \"good.png\", \"split\": \"train\", \"label\": \"sadnes\"}\n";
  EmotuneConfig c = testing::small_config(path, dir + "/run");
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, "train");
  auto msg = error_of([&] { make_emotion_samples(*images, c.data.labels); });
  EXPECT_NE(msg.find(path + ":1: label 'sadnes' is not in data.labels (did you mean 'sadness'?)"), std::string::npos) << msg;
}

}  // namespace
}  // namespace emotune
