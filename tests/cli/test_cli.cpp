#include <nlohmann/json.hpp>

#include <fstream>

#include "core/atomic_file.h"
#include "test_support.h"

namespace emotune {
namespace {

std::string cli(const std::string& args, int* status, bool with_stderr = true) {
  std::string out;
  *status = testing::run_command(testing::emotune_binary() + " " + args, &out, with_stderr);
  return out;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* cmd : {"train-aspects", "train-prompt", "eval", "predict", "explain-batch", "info", "ablate", "synth", "prepare",
                          "sweep", "report", "personalize", "tune-discrete", "refine", "tokenize", "cache-pixels"}) {
    int status;
    auto out = cli(std::string(cmd) + " --help", &status);
    EXPECT_EQ(status, 0) << cmd;
    EXPECT_NE(out.find("Usage"), std::string::npos) << cmd << ": " << out;
  }
}

// An unknown first word is named, with the nearest subcommand (issue 34, finding 8).
TEST(Cli, UnknownSubcommandIsNamedWithTheNearestOne) {
  int status;
  auto out = cli("frobnicate", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("unknown subcommand 'frobnicate'"), std::string::npos) << out;
  out = cli("evl --zero-shot", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("unknown subcommand 'evl' (did you mean 'eval'?)"), std::string::npos) << out;
}

// Spinning OpenMP workers cost the embedded default 2.4x on 2-core VMs (csrc/core/openmp_policy.h): emotune starts
// itself with sleeping ones unless the caller chose a policy.
TEST(Cli, RunsWithPassiveOpenMpUnlessTheCallerChose) {
  std::string unset_out;
  int status = testing::run_command("env -u OMP_WAIT_POLICY " + testing::emotune_binary() + " info --runtime", &unset_out, true);
  ASSERT_EQ(status, 0) << unset_out;
  EXPECT_NE(unset_out.find("OMP_WAIT_POLICY PASSIVE"), std::string::npos) << unset_out;
  std::string chosen;
  status = testing::run_command("OMP_WAIT_POLICY=ACTIVE " + testing::emotune_binary() + " info --runtime", &chosen, true);
  ASSERT_EQ(status, 0) << chosen;
  EXPECT_NE(chosen.find("OMP_WAIT_POLICY ACTIVE"), std::string::npos) << chosen;
}

TEST(Cli, TokenizeEncodesOneJsonStringPerLine) {
  int status;
  const auto dir = testing::scratch_dir("tokenize");
  std::ofstream(dir + "/good.jsonl") << "\"a beach\"\n\"\"\n";
  std::ofstream(dir + "/bad.jsonl") << "not json\n";
  auto out = cli("tokenize --kind sentencepiece --tokenizer " + testing::tiny_bundle() + "/tokenizer.model < " + dir + "/good.jsonl", &status, false);
  EXPECT_EQ(status, 0) << out;
  auto first = nlohmann::json::parse(out.substr(0, out.find('\n')));
  EXPECT_TRUE(first.is_array() && !first.empty()) << out;
  auto bad = cli("tokenize --kind sentencepiece --tokenizer " + testing::tiny_bundle() + "/tokenizer.model < " + dir + "/bad.jsonl", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(bad.find("stdin:1"), std::string::npos) << bad;
}

TEST(Cli, UnknownKeyIsAClearErrorWithSuggestion) {
  int status;
  auto out = cli("train-aspects --set train.batchsize=2", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("unknown config key 'train.batchsize' (did you mean 'train.batch_size'?)"), std::string::npos) << out;
}

TEST(Cli, ExplainBatchJsonDescribesEveryPosition) {
  auto manifest = testing::small_world(24);
  auto run = testing::scratch_dir("run");
  std::string common = " --set bundle=" + testing::tiny_bundle() + " --set data.manifest=" + manifest +
                       " --set run_dir=" + run + " --set 'masp.aspects=[scene, brightness]' --set train.batch_size=2 --set masp.soft_prompt_length=3";
  int status;
  auto out = cli("explain-batch --json" + common, &status, false);
  ASSERT_EQ(status, 0) << out;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j.size(), 2u);
  int targets = 0, aspect = 0;
  for (const auto& p : j[0]["positions"]) {
    targets += p["in_loss"].get<bool>();
    aspect += p["segment"] == "aspect";
  }
  EXPECT_GT(targets, 0);
  EXPECT_EQ(aspect, 1) << "stage 1 feeds the sampled aspect's single query token";
  // Each sequence names its source (issue 34, finding 11): the manifest line holds that image, and stage 1 the
  // aspect asked about.
  auto line_of = [&](int64_t n) {
    std::ifstream in(manifest);
    std::string text;
    for (int64_t i = 0; i < n; ++i) std::getline(in, text);
    return nlohmann::json::parse(text);
  };
  for (const auto& sequence : j) {
    const auto& source = sequence["source"];
    auto row = line_of(source["manifest_line"].get<int64_t>());
    EXPECT_NE(source["image"].get<std::string>().find(row["image"].get<std::string>()), std::string::npos) << source;
    EXPECT_TRUE(source["aspect"] == "scene" || source["aspect"] == "brightness") << source;
  }
  out = cli("explain-batch --stage prompt --json" + common, &status, false);
  ASSERT_EQ(status, 0) << out;
  j = nlohmann::json::parse(out);
  int soft = 0, visual = 0;
  for (const auto& p : j[0]["positions"]) soft += p["segment"] == "soft_prompt", visual += p["segment"] == "visual";
  EXPECT_EQ(soft, 3);
  EXPECT_EQ(visual, 16);
  EXPECT_FALSE(j[0]["source"].contains("aspect"));
  EXPECT_GT(j[0]["source"]["manifest_line"].get<int64_t>(), 0);
  // A readable view (issue 28, finding 8): the first N sequences, runs of embedded positions on one line.
  out = cli("explain-batch --stage prompt --compact --sequences 1" + common, &status, false);
  ASSERT_EQ(status, 0) << out;
  size_t headers = out.rfind("sequence ", 0) == 0;
  for (size_t at = 0; (at = out.find("\nsequence ", at)) != std::string::npos; ++at) ++headers;
  EXPECT_EQ(headers, 1u) << out;
  EXPECT_NE(out.find("visual"), std::string::npos);
  EXPECT_NE(out.find("\xc3\x97" "16 "), std::string::npos) << "16 visual positions on one line\n" << out;  // ×16
  EXPECT_NE(out.find("\xc3\x97" "3 "), std::string::npos) << "3 soft-prompt positions on one line\n" << out;
  EXPECT_NE(out.find("(1 of the batch's 2 sequences shown"), std::string::npos) << out;
}

// SEPM from the command line (docs/sepm.md): eval writes every image's trace and their summary, predict prints what
// each stage decided, explain-batch shows the fine pass without the dropped tokens.
TEST(Cli, SepmInferenceThroughEvalPredictAndExplainBatch) {
  auto manifest = testing::small_world(24);
  auto run = testing::scratch_dir("run");
  std::string common = " --set bundle=" + testing::tiny_bundle() + " --set data.manifest=" + manifest + " --set run_dir=" + run +
                       " --set train.batch_size=2 --set masp.use_aspects=false";
  int status;
  auto out = cli("eval --zero-shot --split train --inference sepm --set sepm.beta=0.25" + common, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("rank mode, SEPM"), std::string::npos) << out;
  auto metrics = nlohmann::json::parse(read_file(run + "/eval-train/metrics.json"));
  EXPECT_EQ(metrics["context"]["inference"], "sepm");
  EXPECT_EQ(metrics["context"]["sepm"]["beta"], 0.25);
  EXPECT_EQ(metrics["sepm"]["mean_tokens_dropped"], 4.0) << "floor(0.25 x 16 visual tokens)";
  std::ifstream predictions(run + "/eval-train/predictions.jsonl");
  std::string line;
  std::getline(predictions, line);
  auto first = nlohmann::json::parse(line);
  EXPECT_EQ(first["sepm"]["dropped_visual"].size(), 4u);
  EXPECT_EQ(first["sepm"]["visual_scores"].size(), 16u);
  EXPECT_EQ(first["sepm"]["visual_grid"], (nlohmann::json{4, 4}));
  out = cli("predict --inference sepm" + common + " " + first["image"].get<std::string>(), &status);
  ASSERT_EQ(status, 0) << out;
  for (const char* said : {"SEPM coarse: p(A positive)", "(paper variance)", "SEPM fine options: ", "SEPM dropped visual tokens (beta 0.20, 3 of 16)",
                           "SEPM answer: "})
    EXPECT_NE(out.find(said), std::string::npos) << said << "\n" << out;
  out = cli("explain-batch --stage prompt --inference sepm --json" + common, &status, false);
  ASSERT_EQ(status, 0) << out;
  auto j = nlohmann::json::parse(out);
  auto visual_of = [](const nlohmann::json& sequence) {
    int n = 0;
    for (const auto& p : sequence["positions"]) n += p["segment"] == "visual";
    return n;
  };
  EXPECT_EQ(visual_of(j["coarse"][0]), 16);
  EXPECT_EQ(visual_of(j["fine"][0]), 13) << "floor(0.2 x 16) = 3 tokens dropped";
  EXPECT_EQ(j["sepm"][0]["dropped_visual"].size(), 3u);
}

// The README's path on an exported Qwen2-VL (a random-init HF checkpoint): explain-batch shows the M-RoPE
// triples — V_global on its 3x3 grid after the aspect tokens, the soft prompt resuming after the grid's largest
// index — then stage 1, stage 2 and eval run from the command line.
TEST(Cli, QwenTwoVLBundleFromExplainToEval) {
  auto manifest = testing::small_world(24);
  auto run = testing::scratch_dir("run");
  std::string common = " --set bundle=" + testing::fixture_bundle("qwen2_vl_square") + " --set data.manifest=" + manifest +
                       " --set 'masp.aspects=[scene, brightness]' --set train.batch_size=2 --set masp.soft_prompt_length=3" +
                       " --set vlm.positions=mrope --set train.max_steps=2 --set data.max_samples=4";
  int status;
  auto out = cli("train-aspects --set run_dir=" + run + "/a" + common, &status);
  ASSERT_EQ(status, 0) << out;
  const std::string stage2 = " --set masp.aspects_checkpoint=" + run + "/a/checkpoint.safetensors";
  out = cli("explain-batch --stage prompt --json --set run_dir=" + run + "/p" + common + stage2, &status, false);
  ASSERT_EQ(status, 0) << out;
  auto j = nlohmann::json::parse(out);
  std::vector<nlohmann::json> aspect, visual, soft;
  int64_t before_image = 0;  // real tokens before the aspect tokens: the chat prefix and <|vision_start|>
  for (const auto& p : j[0]["positions"]) {
    if (p["segment"] == "text" && aspect.empty()) ++before_image;
    if (p["segment"] == "aspect") aspect.push_back(p["position_id"]);
    if (p["segment"] == "visual") visual.push_back(p["position_id"]);
    if (p["segment"] == "soft_prompt") soft.push_back(p["position_id"]);
  }
  ASSERT_EQ(aspect.size(), 2u);
  ASSERT_EQ(visual.size(), 9u);
  ASSERT_EQ(soft.size(), 3u);
  const int64_t start = before_image + 2;  // the grid follows the two aspect tokens
  EXPECT_EQ(aspect[0], nlohmann::json({start - 2, start - 2, start - 2})) << "aspect tokens are 1-D positions";
  EXPECT_EQ(aspect[1], nlohmann::json({start - 1, start - 1, start - 1}));
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(visual[static_cast<size_t>(i)], nlohmann::json({start, start + i / 3, start + i % 3}));
  // image_close takes start + 3, the soft prompt the three after it.
  EXPECT_EQ(soft[0], nlohmann::json({start + 4, start + 4, start + 4}));
  out = cli("train-prompt --set run_dir=" + run + "/p" + common + stage2, &status);
  ASSERT_EQ(status, 0) << out;
  out = cli("eval --set run_dir=" + run + "/p" + common + stage2, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_GT(nlohmann::json::parse(std::ifstream(run + "/p/eval-test/metrics.json"))["total"].get<int>(), 0);
}

TEST(Cli, TrainEvalPredictEndToEnd) {
  auto manifest = testing::small_world(24);
  auto run = testing::scratch_dir("run");
  std::string common = " --set bundle=" + testing::tiny_bundle() + " --set data.manifest=" + manifest +
                       " --set 'masp.aspects=[scene, brightness]' --set train.max_steps=2 --set masp.soft_prompt_length=3";
  int status;
  auto out = cli("train-aspects --set run_dir=" + run + "/a" + common, &status);
  ASSERT_EQ(status, 0) << out;
  out = cli("train-prompt --set run_dir=" + run + "/p --set masp.aspects_checkpoint=" + run + "/a/checkpoint.safetensors" + common, &status);
  ASSERT_EQ(status, 0) << out;
  out = cli("eval --set run_dir=" + run + "/p" + common, &status);
  ASSERT_EQ(status, 0) << out;
  auto metrics = nlohmann::json::parse(std::ifstream(run + "/p/eval-test/metrics.json"));
  EXPECT_EQ(metrics["confusion"].size(), 8u);
  EXPECT_GT(metrics["total"].get<int>(), 0);
  out = cli("eval --set eval.mode=generate --set eval.max_new_tokens=3 --set run_dir=" + run + "/p" + common, &status);
  ASSERT_EQ(status, 0) << out;
  std::ifstream manifest_in(manifest);
  std::string first_line;
  std::getline(manifest_in, first_line);
  auto first_row = nlohmann::json::parse(first_line);
  std::string image = manifest.substr(0, manifest.rfind('/')) + "/" + first_row["image"].get<std::string>();
  out = cli("predict --checkpoint " + run + "/p/checkpoint.safetensors " + image + common, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("predicted: "), std::string::npos) << out;
  // The same eval and prediction from a pixel cache: the same numbers, to the last digit.
  const auto predicted = out;
  out = cli("cache-pixels --split nope --out " + run + "/pixels" + common, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("--split nope: no rows of"), std::string::npos) << out;
  out = cli("cache-pixels --out " + run + "/pixels" + common, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("24 images of 24 rows at "), std::string::npos) << out;  // the tiny bundle resizes them
  const auto cached = common + " --set data.pixel_cache=" + run + "/pixels";
  out = cli("eval --set run_dir=" + run + "/p --set eval.out_dir=" + run + "/eval-cached" + cached, &status);
  ASSERT_EQ(status, 0) << out;
  auto from_cache = nlohmann::json::parse(std::ifstream(run + "/eval-cached/metrics.json"));
  for (const char* key : {"accuracy", "confusion", "total"}) EXPECT_EQ(from_cache[key], metrics[key]) << key;
  out = cli("predict --checkpoint " + run + "/p/checkpoint.safetensors " + image + cached, &status);
  EXPECT_EQ(out, predicted);
  out = cli("predict --checkpoint " + run + "/a/checkpoint.safetensors " + image + common, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("brightness"), std::string::npos) << out;
  out = cli("info --checkpoint " + run + "/p/checkpoint.safetensors", &status);
  EXPECT_NE(out.find("soft_prompt"), std::string::npos) << out;
}

// The step-by-step commands train what the main job trains: train-prompt applies the config's ablation.stage2
// section, and a --set on the command line still wins over it (issue 28, finding 6).
TEST(Cli, TrainCommandsApplyTheConfigsStageSection) {
  auto manifest = testing::small_world(24);
  auto run = testing::scratch_dir("stage_section");
  auto config = testing::write_yaml("bundle: " + testing::tiny_bundle() + "\ndata: {manifest: " + manifest +
                                    "}\nmasp: {use_aspects: false, soft_prompt_length: 3}\ntrain: {max_steps: 3}\n"
                                    "ablation:\n  stage2: {train: {max_steps: 1}}\n",
                                    "stage_section");
  int status;
  auto out = cli("train-prompt -c " + config + " --set run_dir=" + run + "/a", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("the config's ablation.stage2 section applies: {train: {max_steps: 1}}"), std::string::npos) << out;
  EXPECT_NE(out.find("after step 1 of 1"), std::string::npos) << out;
  out = cli("train-prompt -c " + config + " --set run_dir=" + run + "/b --set train.max_steps=2", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("after step 2 of 2"), std::string::npos) << out;
}

// A soft prompt trained on other labels than the command line's config names (issue 28, findings 1, 3, 5).
TEST(Cli, PredictAndEvalRankTheLabelsTheCheckpointWasTrainedOn) {
  auto manifest = testing::small_world(24);
  const std::vector<std::pair<std::string, std::string>> renamed{
      {"amusement", "joy"}, {"awe", "wonder"}, {"contentment", "calm"}, {"excitement", "thrill"},
      {"anger", "rage"},    {"disgust", "revulsion"}, {"fear", "dread"}, {"sadness", "sorrow"}};
  auto text = read_file(manifest);
  for (const auto& [from, to] : renamed)
    for (size_t at; (at = text.find("\"label\":\"" + from + "\"")) != std::string::npos;)
      text.replace(at, from.size() + 10, "\"label\":\"" + to + "\"");
  const auto relabeled = manifest.substr(0, manifest.rfind('/')) + "/relabeled.jsonl";  // the same images
  write_file_atomic(relabeled, text);
  auto run = testing::scratch_dir("labels_run");
  const std::string bundle = " --set bundle=" + testing::tiny_bundle();
  const std::string labels = " --set 'data.labels=[joy, wonder, calm, thrill, rage, revulsion, dread, sorrow]'";
  int status;
  auto out = cli("train-prompt --set run_dir=" + run + " --set data.manifest=" + relabeled + labels + bundle +
                     " --set masp.use_aspects=false --set train.max_steps=2 --set masp.soft_prompt_length=3",
                 &status);
  ASSERT_EQ(status, 0) << out;
  const auto checkpoint = run + "/checkpoint.safetensors";
  std::ifstream in(relabeled);
  std::string first;
  std::getline(in, first);
  const auto image = manifest.substr(0, manifest.rfind('/')) + "/" + nlohmann::json::parse(first)["image"].get<std::string>();

  // No labels on the command line: the checkpoint's, and it says so.
  out = cli("predict --checkpoint " + checkpoint + " " + image + bundle, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("labels: the checkpoint's [joy, wonder"), std::string::npos) << out;
  auto predicted = out.substr(out.find("predicted: ") + 11);
  predicted = predicted.substr(0, predicted.find('\n'));
  EXPECT_NE(labels.find(predicted), std::string::npos) << "predicted '" << predicted << "', not one of the trained labels\n" << out;
  EXPECT_EQ(out.find("amusement"), std::string::npos) << out;
  // Other labels given: refused naming both sets, unless asked for.
  const std::string defaults = " --set 'data.labels=[amusement, awe, contentment, excitement, anger, disgust, fear, sadness]'";
  out = cli("predict --checkpoint " + checkpoint + " " + image + bundle + defaults, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("was trained to choose from [joy, wonder"), std::string::npos) << out;
  EXPECT_NE(out.find("[amusement, awe"), std::string::npos) << out;
  out = cli("predict --labels-from-config --checkpoint " + checkpoint + " " + image + bundle + defaults, &status);
  EXPECT_EQ(status, 0) << out;
  // eval alike: the relabeled split is ranked among the checkpoint's labels without naming them again.
  out = cli("eval --checkpoint " + checkpoint + " --set run_dir=" + run + " --set data.manifest=" + relabeled + bundle, &status);
  EXPECT_EQ(status, 0) << out;

  // A stage-2 checkpoint given where stage 1's aspects are expected says what it is.
  out = cli("train-prompt --set run_dir=" + run + "2 --set data.manifest=" + relabeled + labels + bundle +
                " --set masp.aspects_checkpoint=" + checkpoint + " --set 'masp.aspects=[scene]' --set train.max_steps=1",
            &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("stage-2 (soft prompt) checkpoint without aspect modules (it holds soft_prompt)"), std::string::npos) << out;
  EXPECT_NE(out.find("emotune train-aspects"), std::string::npos) << out;
  // No config at all: what is missing is a config.
  out = cli("eval --zero-shot" + bundle, &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("-c/--config (e.g. -c configs/quickstart.yaml"), std::string::npos) << out;
}

}  // namespace
}  // namespace emotune
