// SEPM's token drop drawn over the images it was decided on (paper 003, Figure 2's "drop" step): each visual token's
// Focus-on-Emotion attention P̄ (Eq. 8) as a colour over its cell of the image grid, the dropped cells crossed out.
#pragma once
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace emotune {

struct TokenDropPanel {
  std::string image_path;           // drawn on a grey canvas, said in the caption, when it cannot be read
  std::string caption;              // e.g. gold and predicted labels
  std::vector<int64_t> grid;        // [rows, columns], rows x columns = scores.size()
  std::vector<double> scores;       // P̄ per visual token, row-major on the grid
  std::vector<int64_t> dropped;     // token indices
};

// The panels side by side under one title; colour scaled to each panel's own [min, max] (what Eq. 9 ranks).
cv::Mat draw_token_drop(const std::string& title, const std::vector<TokenDropPanel>& panels);

}  // namespace emotune
