#include "masp/image_features.h"

#include <torch/torch.h>

#include "config/config.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/image.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
constexpr int64_t kChunk = 16;
}

ImageDecoding image_decoding(const DataConfig& data) {
  ImageDecoding decoding;
  decoding.apply_exif_orientation = data.exif_orientation;
  decoding.max_pixels = data.max_image_pixels;
  decoding.pixel_cache = data.pixel_cache;
  return decoding;
}

ImageFeatures::ImageFeatures(FrozenVLM& vlm, const Manifest& manifest, const std::vector<ManifestRow>& rows,
                             bool skip_bad, bool cache, const std::string& title, const ImageDecoding& decoding)
    : vlm_(vlm), spec_(vlm.spec().image), manifest_(manifest) {
  torch::NoGradGuard no_grad;
  spec_.decoding = decoding;
  const auto& spec = spec_;
  std::vector<torch::Tensor> features, pending;
  auto flush = [&] {
    if (pending.empty()) return;
    if (cache) features.push_back(vlm_.encode_image(torch::stack(pending)));
    pending.clear();
  };
  ProgressBar bar(title, static_cast<int64_t>(rows.size()));
  int64_t done = 0;
  for (const auto& row : rows) {
    try {
      auto pixels = load_image(row.image, spec);
      rows_.push_back(row);
      if (cache) pending.push_back(pixels);
      if (static_cast<int64_t>(pending.size()) == kChunk) flush();
    } catch (const Error& e) {
      auto msg = concat(manifest.where(row), ": ", e.what());
      if (!skip_bad) raise(msg, " (set data.skip_bad_images: true to skip such images)");
      skipped_.push_back(msg);
    }
    ++done;
    bar.update(done, done);
  }
  flush();
  bar.finish();
  if (!skipped_.empty())
    std::fprintf(stderr, "skipped %zu of %zu images (data.skip_bad_images); first: %s\n", skipped_.size(), rows.size(),
                 skipped_.front().c_str());
  if (rows_.empty()) raise(manifest.path, ": no usable images in this split");
  if (cache) cache_ = torch::cat(features, 0);
}

torch::Tensor ImageFeatures::visual(const std::vector<int64_t>& images) {
  torch::NoGradGuard no_grad;
  if (cached()) return cache_.index({torch::tensor(images, torch::kInt64).to(cache_.device())});
  std::vector<torch::Tensor> pixels;
  for (auto i : images) pixels.push_back(load_image(rows_.at(static_cast<size_t>(i)).image, spec_));
  return vlm_.encode_image(torch::stack(pixels));
}

}  // namespace emotune
