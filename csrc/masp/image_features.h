// The images of one split and their frozen visual features V_global.
//
// Every image is decoded once up front, so a missing or corrupt file fails before training starts (naming
// the manifest line) or, with data.skip_bad_images, is dropped and counted. With caching on, V_global of every
// image is computed in that same pass, in fixed chunks in manifest order, so the features do not depend on
// how later batches are composed (a resumed run sees bit-identical features).
#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

#include "data/image.h"
#include "data/manifest.h"

namespace emotune {

class FrozenVLM;
struct DataConfig;

// data.exif_orientation and data.max_image_pixels as the image decoder takes them.
ImageDecoding image_decoding(const DataConfig& data);

class ImageFeatures {
 public:
  // `decoding`: the config's data section, image_decoding(c.data).
  ImageFeatures(FrozenVLM& vlm, const Manifest& manifest, const std::vector<ManifestRow>& rows, bool skip_bad,
                bool cache, const std::string& title = "encoding images", const ImageDecoding& decoding = {});

  const std::vector<ManifestRow>& rows() const { return rows_; }
  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  int64_t skipped() const { return static_cast<int64_t>(skipped_.size()); }
  const std::vector<std::string>& skip_messages() const { return skipped_; }
  bool cached() const { return cache_.defined(); }
  const Manifest& manifest() const { return manifest_; }

  // V_global [n, T, D] of the given images (indices into rows()), without gradient.
  torch::Tensor visual(const std::vector<int64_t>& images);

 private:
  FrozenVLM& vlm_;
  ImageSpec spec_;  // the bundle's, with the config's decoding
  Manifest manifest_;
  std::vector<ManifestRow> rows_;
  std::vector<std::string> skipped_;
  torch::Tensor cache_;
};

}  // namespace emotune
