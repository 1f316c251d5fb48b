// The pixel cache (data/pixel_cache.h): pixels from it are the decoded file's bits, training from it gives the
// checkpoints decoding gives, and a cache that does not fit the run or its images is refused naming why.
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/image.h"
#include "data/manifest.h"
#include "data/pixel_cache.h"
#include "masp/stages.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> image_paths(const std::string& manifest) {
  std::vector<std::string> paths;
  for (const auto& row : load_manifest(manifest).rows) paths.push_back(row.image);
  return paths;
}

PixelCacheWriteResult write_cache(const std::string& dir, const std::vector<std::string>& paths, const ImageSpec& spec) {
  return write_pixel_cache(dir, paths, spec, false, [&](size_t i) { return paths[i]; });
}

TEST(PixelCache, PixelsAreTheDecodedFilesBitsResizedOrNot) {
  auto dir = testing::scratch_dir("pixel-cache-bits");
  cv::Mat photo(50, 70, CV_8UC3);
  cv::randu(photo, 0, 255);
  cv::imwrite(dir + "/photo.jpg", photo);
  cv::imwrite(dir + "/gray16.png", cv::Mat(40, 40, CV_16UC1, cv::Scalar(40000)));
  const std::vector<std::string> paths = {dir + "/photo.jpg", dir + "/gray16.png", dir + "/photo.jpg"};
  for (int64_t side : {32, 50, 96}) {  // shrinking, one side kept, enlarging
    ImageSpec spec{side, side, {0.48, 0.45, 0.40}, {0.26, 0.26, 0.27}, {}};
    const auto cache = dir + "/cache" + std::to_string(side);
    auto written = write_cache(cache, paths, spec);
    EXPECT_EQ(written.images, 2) << "a repeated path is stored once";
    auto cached = spec;
    cached.decoding.pixel_cache = cache;
    for (const auto& path : paths) {
      auto decoded = load_image(path, spec), from_cache = load_image(path, cached);
      ASSERT_EQ(decoded.sizes(), (std::vector<int64_t>{3, side, side}));
      EXPECT_TRUE(torch::equal(decoded, from_cache)) << path << " at " << side;
    }
  }
}

// Training from the cache must not change a single bit of what is trained (the acceptance): stage 1
// and stage 2, with the feature cache on (pixels read once) and off (read again every batch).
TEST(PixelCache, CheckpointsFromTheCacheAreBitIdenticalToDecodingTheFiles) {
  auto manifest = testing::small_world(24);
  auto dir = testing::scratch_dir("pixel-cache-train");
  auto base = testing::small_config(manifest, "");
  base.train.max_steps = 3;
  auto vlm = open_bundle(base);
  auto spec = vlm->spec().image;
  // The cached runs train on a copy of the world whose images are gone after caching: only the cache has them.
  fs::copy(fs::path(manifest).parent_path(), dir + "/world", fs::copy_options::recursive);
  const auto carried = dir + "/world/" + fs::path(manifest).filename().string();
  write_cache(dir + "/pixels", image_paths(carried), spec);
  fs::remove_all(dir + "/world/image");
  ASSERT_THROW(load_image(image_paths(carried).front(), spec), Error) << "the copy's images must be gone";
  for (bool cache_features : {true, false}) {
    auto c = base;
    c.data.cache_features = cache_features;
    auto run = [&](const std::string& name, bool from_cache) {
      auto r = c;
      r.run_dir = dir + "/" + name + (cache_features ? "-features" : "-pixels");
      if (from_cache) {
        r.data.manifest = carried;
        r.data.pixel_cache = dir + "/pixels";
      }
      train_aspects(r);
      auto p = r;
      p.run_dir += "-prompt";
      p.masp.aspects_checkpoint = r.run_dir + "/checkpoint.safetensors";
      train_prompt(p);
      return std::make_pair(r.run_dir, p.run_dir);
    };
    auto [decoded_aspects, decoded_prompt] = run("decoded", false);
    auto [cached_aspects, cached_prompt] = run("cached", true);
    testing::expect_same_tensors(decoded_aspects + "/checkpoint.safetensors", cached_aspects + "/checkpoint.safetensors");
    testing::expect_same_tensors(decoded_prompt + "/checkpoint.safetensors", cached_prompt + "/checkpoint.safetensors");
  }
}

TEST(PixelCache, AMismatchedStaleOrIncompleteCacheIsRefusedNamingWhy) {
  auto dir = testing::scratch_dir("pixel-cache-errors");
  // PPM: a fixed-size file, so a changed pixel keeps the size and only the content check can see it.
  for (const auto* name : {"a.ppm", "b.ppm", "c.ppm"}) cv::imwrite(dir + "/" + name, cv::Mat(20, 20, CV_8UC3, cv::Scalar(10, 20, 30)));
  ImageSpec spec{16, 16, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {}};
  write_cache(dir + "/cache", {dir + "/a.ppm", dir + "/c.ppm"}, spec);
  auto cached = spec;
  cached.decoding.pixel_cache = dir + "/cache";

  auto other_size = cached;
  other_size.height = other_size.width = 32;
  auto message = testing::error_message([&] { load_image(dir + "/a.ppm", other_size); });
  EXPECT_NE(message.find("was written with size=16x16, this run needs size=32x32"), std::string::npos) << message;
  auto unturned = cached;
  unturned.decoding.apply_exif_orientation = false;
  message = testing::error_message([&] { load_image(dir + "/a.ppm", unturned); });
  EXPECT_NE(message.find("exif_orientation=false"), std::string::npos) << message;

  message = testing::error_message([&] { load_image(dir + "/b.ppm", cached); });
  EXPECT_NE(message.find("b.ppm: not in the pixel cache"), std::string::npos) << message;
  auto not_a_cache = cached;
  not_a_cache.decoding.pixel_cache = dir;
  message = testing::error_message([&] { load_image(dir + "/a.ppm", not_a_cache); });
  EXPECT_NE(message.find("not a pixel cache (no index.json there)"), std::string::npos) << message;

  // The files changed after caching: one pixel (same size), and a longer file. Both named, neither read.
  auto bytes = read_file(dir + "/a.ppm");
  bytes.back() = static_cast<char>(bytes.back() + 1);
  write_file_atomic(dir + "/a.ppm", bytes);
  message = testing::error_message([&] { load_image(dir + "/a.ppm", cached); });
  EXPECT_NE(message.find("a.ppm: changed since the pixel cache"), std::string::npos) << message;
  EXPECT_NE(message.find("SHA-256 differs"), std::string::npos) << message;
  write_file_atomic(dir + "/c.ppm", read_file(dir + "/c.ppm") + "more");
  message = testing::error_message([&] { load_image(dir + "/c.ppm", cached); });
  EXPECT_NE(message.find("c.ppm: changed since the pixel cache"), std::string::npos) << message;
}

// A truncated, empty or hostile index (or shard) is an error naming the file, never a crash.
TEST(PixelCache, ATruncatedEmptyOrHostileIndexIsNamed) {
  auto dir = testing::scratch_dir("pixel-cache-hostile");
  cv::imwrite(dir + "/a.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  ImageSpec spec{8, 8, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {}};
  write_cache(dir + "/good", {dir + "/a.png"}, spec);
  const auto index = read_file(dir + "/good/index.json");
  const auto shard = index.substr(index.find("pixels-"), index.find(".safetensors") + 12 - index.find("pixels-"));
  auto cached = spec;
  int n = 0;
  auto broken = [&](const std::string& text, const std::string& shard_bytes = "") {
    const auto d = dir + "/bad" + std::to_string(n++);
    fs::create_directories(d);
    write_file_atomic(d + "/index.json", text);
    write_file_atomic(d + "/" + shard, shard_bytes.empty() ? read_file(dir + "/good/" + shard) : shard_bytes);
    cached.decoding.pixel_cache = d;
    return testing::error_message([&] { load_image(dir + "/a.png", cached); });
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    auto text = index;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  EXPECT_NE(broken("").find("index.json: not a pixel cache index"), std::string::npos);
  EXPECT_NE(broken(index.substr(0, index.size() / 2)).find("not a pixel cache index"), std::string::npos);
  EXPECT_NE(broken(replaced("\"row\": 0", "\"row\": \"x\"")).find("not a pixel cache index"), std::string::npos);
  EXPECT_NE(broken(replaced("\"shard\": 0", "\"shard\": 7")).find("points at shard 7"), std::string::npos);
  EXPECT_NE(broken(replaced("\"row\": 0", "\"row\": 99")).find("is row 99 of a shard"), std::string::npos);
  EXPECT_NE(broken(index, "truncated").find(shard), std::string::npos);
}

// A rewrite that fails half-way (an undecodable image after a full shard) leaves the cache as it was; a rewrite
// that succeeds leaves only its own shards.
TEST(PixelCache, ARewriteThatFailsLeavesTheOldCacheWhole) {
  auto dir = testing::scratch_dir("pixel-cache-rewrite");
  ImageSpec spec{8, 8, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {}};
  std::vector<std::string> paths;
  for (int64_t i = 0; i < kPixelCacheShardImages + 3; ++i) {
    paths.push_back(dir + "/" + std::to_string(i) + ".pgm");
    cv::imwrite(paths.back(), cv::Mat(8, 8, CV_8UC1, cv::Scalar(static_cast<double>(i % 251))));
  }
  write_cache(dir + "/cache", {paths[0], paths[1]}, spec);
  auto cached = spec;
  cached.decoding.pixel_cache = dir + "/cache";
  const auto before = load_image(paths[1], cached);
  // The rewrite: images 2.. in a full first shard (flushed to disk, image 3 where image 1 was), then a bad one.
  write_file_atomic(paths.back(), "not an image");
  EXPECT_THROW(write_cache(dir + "/cache", std::vector<std::string>(paths.begin() + 2, paths.end()), spec), Error);
  auto reopened = spec;  // another spelling of the directory: a handle of its own, which reads the files afresh
  reopened.decoding.pixel_cache = dir + "/cache/";
  EXPECT_TRUE(torch::equal(load_image(paths[1], reopened), before));
  write_cache(dir + "/cache", {paths[1]}, spec);
  int shards = 0;
  for (const auto& entry : fs::directory_iterator(dir + "/cache")) shards += entry.path().extension() == ".safetensors";
  EXPECT_EQ(shards, 1) << "the shards of the failed and of the first write are gone";
}

// Manifest and cache carried without the images (the GPU machines): the pixels still come, and the same.
TEST(PixelCache, AWorldCarriedWithoutItsImagesStillHasItsPixels) {
  auto dir = testing::scratch_dir("pixel-cache-carried");
  fs::create_directories(dir + "/world/images");
  cv::Mat photo(30, 30, CV_8UC3);
  cv::randu(photo, 0, 255);
  cv::imwrite(dir + "/world/images/x.png", photo);
  ImageSpec spec{24, 24, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}, {}};
  write_cache(dir + "/world/pixels", {dir + "/world/images/x.png"}, spec);
  auto expected = load_image(dir + "/world/images/x.png", spec);
  fs::rename(dir + "/world", dir + "/carried");
  fs::remove_all(dir + "/carried/images");
  auto cached = spec;
  cached.decoding.pixel_cache = dir + "/carried/pixels";
  EXPECT_TRUE(torch::equal(load_image(dir + "/carried/images/x.png", cached), expected));
}

}  // namespace
}  // namespace emotune
