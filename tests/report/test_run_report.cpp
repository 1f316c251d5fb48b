// `emotune report` on a small but complete run: curves, confusion, per-class accuracy and the Figure-4
// attention render as PNGs that decode, and the summary links them.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "eval/eval_table.h"
#include "masp/stages.h"
#include "report/chart.h"
#include "report/run_report.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

TEST(RunReport, RendersEveryFigureOfARun) {
  auto dir = testing::scratch_dir("report");
  auto c = testing::small_config(testing::small_world(40), dir + "/run/aspects");
  c.train.max_steps = 2;
  train_aspects(c);
  c.run_dir = dir + "/run/prompt";
  c.masp.aspects_checkpoint = dir + "/run/aspects/checkpoint.safetensors";
  train_prompt(c);
  write_file_atomic(dir + "/config.yaml", config_to_yaml(c));
  run_eval_table({dir + "/config.yaml"}, {}, parse_table_rows({"V+A+S=" + dir + "/run/prompt/checkpoint.safetensors"}),
                 {{"test", ""}}, dir + "/run/table");
  run_eval_table({dir + "/config.yaml"}, {"eval.inference=sepm"}, parse_table_rows({"V+A+S=" + dir + "/run/prompt/checkpoint.safetensors"}),
                 {{"test", ""}}, dir + "/run/sepm");
  auto r = write_run_report({dir + "/run", "", 8});
  std::vector<std::string> names;
  for (const auto& f : r.figures) {
    names.push_back(fs::path(f).filename().string());
    auto img = cv::imread(f);
    ASSERT_FALSE(img.empty()) << f;
    EXPECT_GE(img.cols, 400) << f;
    // Not blank: a readable figure has ink (text, axes) on a white page.
    cv::Mat gray;
    cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
    EXPECT_GT(cv::countNonZero(gray < 128), 500) << f;
  }
  for (const char* expected : {"curve-aspects.png", "curve-prompt.png", "confusion-table_V+A+S_test.png", "per-class-table_V+A+S_test.png",
                               "attention-prompt.png", "sepm-drop-sepm_V+A+S_test.png"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  auto summary = read_file(r.summary_path);
  EXPECT_NE(summary.find("MASP Figure 4"), std::string::npos);
  EXPECT_NE(summary.find("## SEPM token drop: sepm_V+A+S_test"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"invalid_answers\":0"), std::string::npos) << "the traces' summary is shown";
  EXPECT_NE(summary.find("| V+A+S |"), std::string::npos);  // the table is included
  EXPECT_NE(summary.find("ECC (emotion closeness credit)"), std::string::npos) << "the metrics are defined where shown";
  EXPECT_NE(summary.find("`(no label)`"), std::string::npos);
  // A report on one run names its figures by the run, not "run" (issue 28, finding 9).
  auto one = write_run_report({dir + "/run/prompt", "", 8});
  std::vector<std::string> one_names;
  for (const auto& f : one.figures) one_names.push_back(fs::path(f).filename().string());
  EXPECT_NE(std::find(one_names.begin(), one_names.end(), "curve-prompt.png"), one_names.end());
}

TEST(RunReport, BundleAttentionRowsAreDistributions) {
  auto vlm = load_frozen_vlm(testing::tiny_bundle());
  ASSERT_TRUE(vlm->has_last_attention());
  auto embeds = torch::randn({2, 7, vlm->spec().hidden_size});
  auto mask = torch::ones({2, 7}, torch::kInt64);
  mask[1].slice(0, 0, 2).fill_(0);  // left padding
  auto att = vlm->last_attention(embeds, mask);
  ASSERT_EQ(att.dim(), 4);
  EXPECT_TRUE(torch::allclose(att.sum(-1), torch::ones_like(att.sum(-1)), 1e-5, 1e-5));
  EXPECT_LT(att[1].select(1, 5).slice(1, 0, 2).abs().max().item<float>(), 1e-6);  // padding gets no attention
}

}  // namespace
}  // namespace emotune

namespace emotune {
namespace {
// A long column label stands below the grid and never paints white over the cells (issue 28, finding 9: the
// attention figure's first label, facial_expression, left a white box on its column).
TEST(Charts, LongColumnLabelsLeaveTheCellsAlone) {
  const std::vector<std::vector<double>> cells{{1.0, 1.0}, {1.0, 1.0}};
  auto img = draw_heatmap("t", "rows", "columns", {"r0", "r1"}, {"a_very_long_column_label_indeed", "b"}, cells, {});
  // The layout: grid from (150, 70), cells of 90 x 60 for two rows and two columns.
  const cv::Vec3b white(255, 255, 255);
  for (int y = 70; y < 70 + 2 * 60; y += 3) EXPECT_NE(img.at<cv::Vec3b>(y, 150 + 45), white) << "row " << y;
  // The label is there, below the grid.
  cv::Mat below = img(cv::Rect(150, 70 + 2 * 60, 90, img.rows - 70 - 2 * 60)), gray;
  cv::cvtColor(below, gray, cv::COLOR_BGR2GRAY);
  EXPECT_GT(cv::countNonZero(gray < 128), 100);
}
}  // namespace
}  // namespace emotune
