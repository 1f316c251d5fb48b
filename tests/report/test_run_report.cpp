// `emotune report` on a small but complete run: curves, confusion, per-class accuracy and the Figure-4
// attention render as PNGs that decode, and the summary links them.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "eval/eval_table.h"
#include "masp/stages.h"
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
                               "attention-prompt.png"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  auto summary = read_file(r.summary_path);
  EXPECT_NE(summary.find("MASP Figure 4"), std::string::npos);
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
