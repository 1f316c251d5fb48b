// The checkpoints x datasets table and the sweeps built on it, on the tiny bundle and a small affect world.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/eval_table.h"
#include "eval/evaluate.h"
#include "recipes/sweep.h"
#include "io/checkpoint.h"
#include "masp/stages.h"
#include "prepare/prepare_dataset.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

// A config file of the small test settings, as a user would pass with -c.
std::string write_config(const EmotuneConfig& c, const std::string& dir) {
  auto path = dir + "/config.yaml";
  write_file_atomic(path, config_to_yaml(c));
  return path;
}

TEST(EvalTable, RowsByColumnsMatchSingleEvaluations) {
  auto dir = testing::scratch_dir("table");
  auto manifest = testing::small_world(40);
  auto c = testing::small_config(manifest, dir + "/run");
  c.masp.use_aspects = false;
  auto config = write_config(c, dir);
  train_prompt(c);
  const auto ckpt = dir + "/run/checkpoint.safetensors";
  // Two columns: the world prepared through the EmoSet converter (test split) and its val split.
  auto d = prepare_dataset(prepare_options("emoset", fs::path(manifest).parent_path().string(), dir + "/world", load_config({}, {}).prepare));
  write_file_atomic(dir + "/val.yaml", "data:\n  manifest: " + manifest + "\n  eval_split: val\n");
  auto rows = parse_table_rows({"V=", "V+S=" + ckpt});
  auto columns = parse_table_columns({"world=" + dir + "/world/dataset.yaml", "world-val=" + dir + "/val.yaml"});
  auto table = run_eval_table({config}, {}, rows, columns, dir + "/table");
  ASSERT_EQ(table.cells.size(), 2u);
  ASSERT_EQ(table.cells[0].size(), 2u);
  for (const char* f : {"table.md", "table.csv", "table-macro-f1.csv", "table.json", "V+S/world-val/metrics.json"})
    EXPECT_TRUE(fs::exists(dir + "/table/" + f)) << f;
  EXPECT_NE(table.markdown().find("| V+S |"), std::string::npos);
  EXPECT_NE(table.markdown().find("world-val"), std::string::npos);
  // The reference rows of a knowledge-free model, per column (issue 28, finding 9): 1/8 and the biggest class.
  const auto& gold = table.cells[0][1].class_total;
  const double majority = static_cast<double>(*std::max_element(gold.begin(), gold.end())) / static_cast<double>(table.cells[0][1].total);
  EXPECT_NE(table.markdown().find("| chance (1 / labels) | 12.50 | 12.50 |"), std::string::npos) << table.markdown();
  EXPECT_NE(table.markdown().find("| majority class |"), std::string::npos) << table.markdown();
  char expected[64];
  std::snprintf(expected, sizeof expected, " %.2f |\n", 100 * majority);
  EXPECT_NE(table.markdown().find(expected), std::string::npos) << table.markdown();
  // The V+S cell on the val split equals evaluating that checkpoint alone.
  auto vc = c;
  vc.data.eval_split = "val";
  auto vlm = open_bundle(vc);
  auto images = open_split(*vlm, vc, "val");
  auto model = make_emotion_model(*vlm, vc, ckpt, parts_in_checkpoint(ckpt));
  auto single = evaluate_emotions(model, *images, make_emotion_samples(*images, vc.data.labels), {EvalMode::Rank, 16, 8, false});
  EXPECT_EQ(table.cells[1][1].correct, single.metrics.correct);
  EXPECT_EQ(table.cells[1][1].total, single.metrics.total);
  EXPECT_GT(table.cells[1][0].total, 0);
}

TEST(Sweep, SoftPromptLengthsTrainOneRunEach) {
  auto dir = testing::scratch_dir("sweep");
  auto c = testing::small_config(testing::small_world(40), dir + "/run");
  c.masp.use_aspects = false;
  c.train.max_steps = 2;
  c.sweep.key = "masp.soft_prompt_length";
  c.sweep.values = {"2", "3"};
  auto table = run_sweep({write_config(c, dir)}, {});
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0].name, "masp.soft_prompt_length=2");
  for (int64_t length : {2, 3}) {
    auto ckpt = load_checkpoint(dir + "/run/sweep/masp.soft_prompt_length=" + std::to_string(length) + "/checkpoint.safetensors");
    EXPECT_EQ(ckpt.tensors.at("soft_prompt").size(0), length);
  }
  EXPECT_TRUE(fs::exists(dir + "/run/sweep/table.md"));
  auto bad = c;
  bad.sweep.key = "masp.soft_prompt_lenght";
  try {
    run_sweep({write_config(bad, dir)}, {});
    FAIL() << "a misspelt sweep key must be an error before training";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("soft_prompt_length"), std::string::npos) << e.what();
  }
}

TEST(Sweep, SingleAspectRunsUseOnlyTheirAspect) {
  auto dir = testing::scratch_dir("sweep_aspect");
  auto c = testing::small_config(testing::small_world(40), dir + "/run");
  c.masp.aspects = {"scene", "brightness"};
  c.masp.questions.erase("object");
  c.masp.questions.erase("colorfulness");
  c.train.max_steps = 2;
  c.sweep.single_aspect = true;
  auto table = run_sweep({write_config(c, dir)}, {});
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_TRUE(fs::exists(dir + "/run/aspects/checkpoint.safetensors"));  // stage 1 trained first
  auto scene = summarize_checkpoint(dir + "/run/sweep/scene/checkpoint.safetensors");
  auto aspects = YAML::Load(scene.info.config_yaml)["masp"]["aspects"].as<std::vector<std::string>>();
  EXPECT_EQ(aspects, std::vector<std::string>{"scene"});
}

}  // namespace
}  // namespace emotune
