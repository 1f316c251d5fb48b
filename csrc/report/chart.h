// Readable PNG charts drawn with OpenCV (already a dependency): line charts with axes, ticks and a legend,
// bar charts, and annotated heatmaps with a colour scale. Enough for emotune's reports, no plotting stack
// to install. Every chart has a title and labelled axes.
#pragma once
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace emotune {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

cv::Mat draw_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                        const std::vector<Series>& series);
// Bars with their values printed above them; values in [0, y_max].
cv::Mat draw_bar_chart(const std::string& title, const std::string& y_label, const std::vector<std::string>& labels,
                       const std::vector<double>& values, double y_max);
// cells[r][c]; colour scaled to [0, max]; each cell annotated with `annotations[r][c]` when given.
cv::Mat draw_heatmap(const std::string& title, const std::string& row_axis, const std::string& column_axis,
                     const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels,
                     const std::vector<std::vector<double>>& cells, const std::vector<std::vector<std::string>>& annotations);

void write_png(const std::string& path, const cv::Mat& image);

}  // namespace emotune
