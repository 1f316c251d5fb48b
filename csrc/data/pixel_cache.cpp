#include "data/pixel_cache.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "io/safetensors.h"

namespace emotune {
namespace {

namespace fs = std::filesystem;
constexpr const char* kFormat = "emotune-pixel-cache/1";

// The image's path relative to the cache directory (both made absolute first).
std::string cache_key(const std::string& image, const std::string& dir) {
  return fs::absolute(image).lexically_normal().lexically_relative(fs::absolute(dir).lexically_normal()).generic_string();
}

// Each write's shards carry a generation of their own, so writing a cache again never touches the shards the
// current index.json names: a write that fails half-way (or a reader during it) still sees the old cache whole.
std::string shard_name(const std::string& generation, int64_t shard) {
  char name[64];
  std::snprintf(name, sizeof(name), "pixels-%s-%05lld.safetensors", generation.c_str(), static_cast<long long>(shard));
  return name;
}

std::string new_generation() {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  char name[32];
  std::snprintf(name, sizeof(name), "%llx%05x", static_cast<unsigned long long>(now), static_cast<unsigned>(::getpid()) & 0xfffff);
  return name;
}

class PixelCache {
 public:
  explicit PixelCache(std::string dir) : dir_(std::move(dir)) {
    const auto index_path = (fs::path(dir_) / "index.json").string();
    if (!fs::exists(index_path))
      raise("data.pixel_cache '", dir_, "': not a pixel cache (no index.json there); write one with `emotune "
            "cache-pixels -c CONFIG` on a machine with OpenCV");
    try {
      index_ = nlohmann::json::parse(read_file(index_path));
      if (index_.value("format", "") != kFormat)
        raise(index_path, ": format '", index_.value("format", ""), "', expected '", kFormat, "'");
      settings_ = index_.at("settings").get<std::vector<std::string>>();
      index_.at("shards").get<std::vector<std::string>>();  // names, or a type error here
      shards_.resize(index_.at("shards").size());
      // Every entry checked once here, so a lookup never meets a malformed one (an edited or hostile index).
      const auto& images = index_.at("images");
      if (!images.is_object()) raise(index_path, ": 'images' is not an object");
      for (const auto& [key, entry] : images.items()) {
        const auto shard = entry.at("shard").get<int64_t>(), row = entry.at("row").get<int64_t>();
        entry.at("bytes").get<uint64_t>();
        entry.at("sha256").get<std::string>();
        if (shard < 0 || shard >= static_cast<int64_t>(shards_.size()) || row < 0)
          raise(index_path, ": image '", key, "' points at shard ", shard, " row ", row, " of ", shards_.size(), " shards");
      }
    } catch (const nlohmann::json::exception& e) {
      raise(index_path, ": not a pixel cache index (", e.what(), ")");
    }
  }

  torch::Tensor pixels(const std::string& path, const ImageSpec& spec) {
    std::lock_guard<std::mutex> lock(mutex_);
    check_settings(spec);
    const auto key = cache_key(path, dir_);
    const auto& images = index_.at("images");
    const auto entry = images.find(key);
    if (entry == images.end())
      raise(path, ": not in the pixel cache '", dir_, "' (", images.size(), " images, keyed by path relative to the "
            "cache as '", key, "'); run `emotune cache-pixels` over this manifest again");
    if (!checked_.count(key)) check_not_stale(path, *entry);
    checked_.insert(key);
    const auto shard = entry->at("shard").get<size_t>();
    const auto row = entry->at("row").get<int64_t>();
    const auto& pixels = shard_pixels(shard);
    if (row >= pixels.size(0) || pixels.size(1) != 3 || pixels.size(2) != spec.height || pixels.size(3) != spec.width)
      raise(dir_, "/index.json: image '", key, "' is row ", row, " of a shard of shape ", pixels.sizes(),
            ", expected a row of [3, ", spec.height, ", ", spec.width, "]");
    return pixels[row].clone();
  }

 private:
  void check_settings(const ImageSpec& spec) {
    const auto wanted = pixel_cache_settings(spec);
    for (size_t i = 0; i < wanted.size(); ++i) {
      const auto have = i < settings_.size() ? settings_[i] : std::string("(none)");
      if (have != wanted[i])
        raise("data.pixel_cache '", dir_, "' was written with ", have, ", this run needs ", wanted[i],
              " (from the bundle and the data section); write it again with `emotune cache-pixels`");
    }
  }

  void check_not_stale(const std::string& path, const nlohmann::json& entry) const {
    std::error_code ec;
    if (!fs::exists(path, ec)) return;  // carried without its images: the cache is the image
    const auto bytes = read_file(path);
    const auto cached_size = entry.at("bytes").get<uint64_t>();
    if (bytes.size() != cached_size)
      raise(path, ": changed since the pixel cache '", dir_, "' was written (", cached_size, " bytes then, ",
            bytes.size(), " now); write it again with `emotune cache-pixels`");
    if (sha256_hex(bytes) != entry.at("sha256").get<std::string>())
      raise(path, ": changed since the pixel cache '", dir_, "' was written (same size, other content: SHA-256 "
            "differs); write it again with `emotune cache-pixels`");
  }

  const torch::Tensor& shard_pixels(size_t shard) {
    if (shard >= shards_.size()) raise(dir_, "/index.json: shard ", shard, " of ", shards_.size());
    if (!shards_[shard].defined()) {
      const auto file = (fs::path(dir_) / index_.at("shards")[shard].get<std::string>()).string();
      auto content = load_safetensors(file);
      auto it = content.tensors.find("pixels");
      if (it == content.tensors.end() || it->second.scalar_type() != torch::kUInt8 || it->second.dim() != 4)
        raise(file, ": expected a uint8 tensor 'pixels' [n, 3, H, W]");
      shards_[shard] = it->second;
    }
    return shards_[shard];
  }

  std::string dir_;
  nlohmann::json index_;
  std::vector<std::string> settings_;
  std::vector<torch::Tensor> shards_;
  std::set<std::string> checked_;
  std::mutex mutex_;
};

PixelCache& open_cache(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<PixelCache>> caches;
  std::lock_guard<std::mutex> lock(mutex);
  // Keyed by the index's time too, so a cache written again in this process is read again.
  std::error_code ec;
  const auto written = fs::last_write_time(fs::path(dir) / "index.json", ec);
  const auto key = concat(fs::absolute(dir).lexically_normal().string(), "@", written.time_since_epoch().count());
  auto& cache = caches[key];
  if (!cache) cache = std::make_unique<PixelCache>(dir);
  return *cache;
}

}  // namespace

std::vector<std::string> pixel_cache_settings(const ImageSpec& spec) {
  const auto& d = spec.decoding;
  return {concat("size=", spec.height, "x", spec.width), concat("exif_orientation=", d.apply_exif_orientation ? "true" : "false"),
          concat("max_image_pixels=", d.max_pixels), concat("reduce_above_pixels=", d.reduce_above_pixels)};
}

torch::Tensor cached_pixels(const std::string& path, const ImageSpec& spec) {
  return open_cache(spec.decoding.pixel_cache).pixels(path, spec);
}

PixelCacheWriteResult write_pixel_cache(const std::string& dir, const std::vector<std::string>& paths,
                                        const ImageSpec& spec, bool skip_bad,
                                        const std::function<std::string(size_t)>& where,
                                        const std::function<void(size_t)>& progress) {
  ensure_directory(dir);
  const auto generation = new_generation();
  PixelCacheWriteResult result;
  nlohmann::json images = nlohmann::json::object(), shards = nlohmann::json::array();
  std::vector<torch::Tensor> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    const auto name = shard_name(generation, result.shards++);
    save_safetensors((fs::path(dir) / name).string(), {{"pixels", torch::stack(pending)}}, {{"format", kFormat}});
    shards.push_back(name);
    pending.clear();
  };
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto key = cache_key(paths[i], dir);
    if (!images.contains(key)) {
      try {
        if (!fs::exists(paths[i])) raise("image file not found");
        const auto bytes = read_file(paths[i]);
        pending.push_back(decode_rgb8(bytes, spec, paths[i]));
        images[key] = {{"shard", result.shards}, {"row", pending.size() - 1}, {"bytes", bytes.size()},
                       {"sha256", sha256_hex(bytes)}};
        ++result.images;
        if (static_cast<int64_t>(pending.size()) == kPixelCacheShardImages) flush();
      } catch (const Error& e) {
        auto message = concat(where(i), ": ", e.what());
        if (!skip_bad) raise(message, " (set data.skip_bad_images: true to leave such images out)");
        result.skip_messages.push_back(message);
        ++result.skipped;
      }
    }
    if (progress) progress(i + 1);
  }
  flush();
  nlohmann::json index = {{"format", kFormat}, {"settings", pixel_cache_settings(spec)}, {"shards", shards},
                          {"images", images}};
  write_file_atomic((fs::path(dir) / "index.json").string(), index.dump(1));
  // The shards of earlier writes (and of writes that failed) are no longer indexed: removed.
  const auto indexed = shards.get<std::set<std::string>>();
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("pixels-", 0) == 0 && entry.path().extension() == ".safetensors" && !indexed.count(name)) {
      std::error_code ec;
      fs::remove(entry.path(), ec);
    }
  }
  return result;
}

}  // namespace emotune
