// `emotune cache-pixels`: the manifest's images decoded once at the bundle's input size into a pixel cache
// (data/pixel_cache.h), for data.pixel_cache.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/pixel_cache.h"
#include "masp/image_features.h"
#include "masp/stages.h"
#include "vlm/bundle_spec.h"

namespace emotune {
namespace {
struct CachePixelsArgs {
  ConfigArgs config;
  std::vector<std::string> splits;
  std::string out;
};

void run_cache_pixels(const CachePixelsArgs& a) {
  const EmotuneConfig c = a.config.load();
  const std::string dir = a.out.empty() ? c.data.pixel_cache : a.out;
  if (dir.empty()) raise("say where the cache goes: --out DIR, or data.pixel_cache in the config");
  const auto manifest = load_data_manifest(c);
  std::vector<ManifestRow> rows;
  for (const auto& row : manifest.rows)
    if (a.splits.empty() || std::find(a.splits.begin(), a.splits.end(), row.split) != a.splits.end()) rows.push_back(row);
  for (const auto& split : a.splits)
    if (std::none_of(manifest.rows.begin(), manifest.rows.end(), [&](const ManifestRow& r) { return r.split == split; }))
      raise("--split ", split, ": no rows of ", manifest.path, " are in that split");
  auto spec = load_bundle_spec(c.bundle).image;  // only the input size: the model itself is not needed
  spec.decoding = image_decoding(c.data);
  spec.decoding.pixel_cache.clear();  // decode the files, even where the config already reads this cache
  std::vector<std::string> paths;
  for (const auto& row : rows) paths.push_back(row.image);
  const auto start = std::chrono::steady_clock::now();
  ProgressBar bar("caching pixels", static_cast<int64_t>(paths.size()));
  auto result = write_pixel_cache(dir, paths, spec, c.data.skip_bad_images,
                                  [&](size_t i) { return manifest.where(rows[i]); },
                                  [&](size_t done) { bar.update(static_cast<int64_t>(done), static_cast<int64_t>(done)); });
  bar.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.skipped > 0)
    std::fprintf(stderr, "left out %lld undecodable image(s) (data.skip_bad_images); first: %s\n",
                 static_cast<long long>(result.skipped), result.skip_messages.front().c_str());
  std::printf("pixel cache %s: %lld images of %zu rows at %lldx%lld in %lld shard(s), %s\n", dir.c_str(),
              static_cast<long long>(result.images), rows.size(), static_cast<long long>(spec.height),
              static_cast<long long>(spec.width), static_cast<long long>(result.shards), format_duration(seconds).c_str());
  std::printf("use it with --set data.pixel_cache=%s (or data.pixel_cache in the config)\n", dir.c_str());
}
}  // namespace

void register_cache_pixels_command(CLI::App& app) {
  auto a = std::make_shared<CachePixelsArgs>();
  auto* cmd = app.add_subcommand("cache-pixels",
                                 "decode the manifest's images once at the bundle's input size into a pixel cache (data.pixel_cache)");
  add_config_options(cmd, a->config);
  cmd->add_option("--split", a->splits, "only these splits (repeatable; default: every row of the manifest)");
  cmd->add_option("--out", a->out, "the cache directory (default: data.pixel_cache)");
  cmd->callback([a] { run_cache_pixels(*a); });
}

}  // namespace emotune
