// The pixel cache: every image of a manifest decoded and resized once (data/image.h step 1) and stored as 8-bit
// RGB at the bundle's input size, so that training, eval, predict and personalize read pixels instead of
// decoding JPEGs — faster on every epoch without a feature cache, and the only image source on a machine
// without OpenCV (the GPU machines; docs/gpu.md).
//
// On disk, a directory:
//   index.json               {"format", "settings" (what decoding depended on), "shards", "images": key →
//                            {shard, row, bytes, sha256}}
//   pixels-<generation>-00000.safetensors  "pixels": uint8 [n, 3, H, W], the images of that shard in index
//                            order; each write has its own generation, so a failed rewrite leaves the old whole
// An image's key is its path relative to the cache directory, so a world moved or copied whole (images,
// manifest and cache together, or manifest and cache without the images) still finds its pixels.
//
// The cache is refused, naming what differs, when its settings are not this run's (input size, EXIF
// orientation, pixel limit) or when an image file that exists no longer has the bytes it was cached from
// (size, then SHA-256, checked once per image per process). A missing file is not stale: its pixels come from
// the cache, which is the point on a machine that carries the cache without the images.
#pragma once
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "data/image.h"

namespace emotune {

constexpr int64_t kPixelCacheShardImages = 1024;

struct PixelCacheWriteResult {
  int64_t images = 0, shards = 0, skipped = 0;
  std::vector<std::string> skip_messages;  // "<where>: <why>", for images that could not be decoded
};

// Decodes every image of `paths` (duplicates once) with `spec` and writes the cache to `dir` (created; an
// existing cache there is replaced — its shards are rewritten before the new index is renamed over the old).
// `where(i)` names path i in errors (a manifest line). A bad image is an error unless `skip_bad`.
PixelCacheWriteResult write_pixel_cache(const std::string& dir, const std::vector<std::string>& paths,
                                        const ImageSpec& spec, bool skip_bad,
                                        const std::function<std::string(size_t)>& where,
                                        const std::function<void(size_t done)>& progress = {});

// [3,H,W] uint8 of `path` from the cache at spec.decoding.pixel_cache (opened once per process).
torch::Tensor cached_pixels(const std::string& path, const ImageSpec& spec);

// The settings a cache written with `spec` records, as "key=value" strings (compared on read; tests).
std::vector<std::string> pixel_cache_settings(const ImageSpec& spec);

}  // namespace emotune
