// Throughput of MASP's hot paths on a bundle (default: the embedded pretrained tiny VLM), with Google
// Benchmark. Each measurement that makes a claim has its reference in the same run:
//   - stage-2 step with cached features vs encoding images every step (what caching saves);
//   - scoring logits only at answer rows (forward_rows) vs the full [B,S,V] logits;
//   - greedy generation with the prompts prefilled once vs recomputing the whole sequence per new token.
// Stage-2 steps take the batch size and whether aspect tokens are in the sequence (V+S or V+A+S; the aspect
// modules are random: their values do not change the cost).
// Results and the command: docs/benchmarks.md. Items are samples (images or image-aspect pairs).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/openmp_policy.h"
#include "core/rng.h"
#include "eval/decode.h"
#include "io/safetensors.h"
#include "masp/answer_scoring.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#ifdef EMOTUNE_WITH_OPENCV
#include "synth/affect_world.h"
#endif
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

struct Fixture {
  EmotuneConfig config;
  std::unique_ptr<FrozenVLM> vlm;
  std::unique_ptr<ImageFeatures> cached, uncached;
  std::string random_aspects;  // a checkpoint of untrained aspect modules, for V+A+S steps

  static Fixture& get() {
    static Fixture f;
    return f;
  }

 private:
  // EMOTUNE_BENCH_SET: "key=value;key=value" config overrides applied last (device, precision, or a world's
  // data.manifest and data.pixel_cache — which a build without OpenCV needs, as it cannot draw one).
  Fixture() {
    auto dir = fs::temp_directory_path() / "emotune-bench-world";
    const char* bundle = std::getenv("EMOTUNE_BENCH_BUNDLE");
    std::vector<std::string> overrides = {"bundle=" + std::string(bundle ? bundle : EMOTUNE_DEFAULT_BUNDLE), "threads=2",
                                          "data.manifest=" + (dir / "manifest.jsonl").string(),
                                          "masp.aspects=[object, scene, brightness, colorfulness]"};
    if (const char* set = std::getenv("EMOTUNE_BENCH_SET")) {
      std::stringstream items(set);
      for (std::string item; std::getline(items, item, ';');)
        if (!item.empty()) overrides.push_back(item);
    }
    config = load_config({}, overrides);
    if (config.data.manifest == (dir / "manifest.jsonl").string() && !fs::exists(dir / "manifest.jsonl")) {
#ifdef EMOTUNE_WITH_OPENCV
      WorldOptions o;
      o.out_dir = dir.string();
      o.images = 256;
      synthesize_world(o);
#else
      raise("without OpenCV the benchmark cannot draw its world: give one with its pixel cache, "
            "EMOTUNE_BENCH_SET='data.manifest=M;data.pixel_cache=P'");
#endif
    }
    vlm = open_bundle(config);
    cached = open_split(*vlm, config, "train");
    config.data.cache_features = false;
    uncached = open_split(*vlm, config, "train");
    config.data.cache_features = true;
    random_aspects = (dir / "random-aspects.safetensors").string();
    save_safetensors(random_aspects, load_aspect_modules(config, vlm->spec().hidden_size, "")->named_tensors());
  }
};

std::vector<int64_t> batch_of(int64_t size, int64_t n, int64_t step) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < size; ++i) out.push_back((step * size + i) % n);
  return out;
}

void BM_Stage1TrainStep(benchmark::State& state) {
  auto& f = Fixture::get();
  const auto& c = f.config;
  auto modules = load_aspect_modules(c, f.vlm->spec().hidden_size, "");
  modules->set_requires_grad(true);
  SequenceBuilder builder(*f.vlm, layout_options(c));
  AspectTask task(*f.vlm, builder, modules, *f.cached, make_aspect_samples(*f.cached, c.masp.aspects, false), aspect_question_lists(c.masp), 1);
  int64_t step = 0;
  for (auto _ : state) {
    auto loss = task.loss(batch_of(state.range(0), task.num_samples(), step++), 0);
    loss.backward();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// state.range(0): images per step; state.range(1): 1 for aspect tokens in the sequence (V+A+S), 0 for V+S.
void stage2_step(benchmark::State& state, ImageFeatures& images, bool prefix_cache = true) {
  auto& f = Fixture::get();
  auto c = f.config;
  const bool aspects = state.range(1) != 0;
  c.masp.use_aspects = aspects;
  c.masp.aspects_checkpoint = aspects ? f.random_aspects : "";
  auto model = make_emotion_model(*f.vlm, c, "", aspects ? EmotionModelParts::masp() : EmotionModelParts::prompt_only());
  model.soft_prompt.set_requires_grad(true);
  PromptTaskOptions options;
  options.use_prefix_cache = prefix_cache;
  PromptTask task(model, images, make_emotion_samples(images, c.data.labels), options);
  int64_t step = 0;
  for (auto _ : state) task.loss(batch_of(state.range(0), task.num_samples(), step++), 0).backward();
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetLabel(aspects ? "V+A+S" : "V+S");
}
void BM_Stage2TrainStep(benchmark::State& state) { stage2_step(state, *Fixture::get().cached); }
void BM_Stage2TrainStepEncodingEveryStep(benchmark::State& state) { stage2_step(state, *Fixture::get().uncached); }
// The plain path: backward over the whole sequence (the reference for the prefix-cache fast path).
void BM_Stage2TrainStepWithoutPrefixCache(benchmark::State& state) { stage2_step(state, *Fixture::get().cached, false); }

// Greedy generation of state.range(0) images' answers (eval.mode: generate, eval.max_new_tokens 8), with the
// prompts prefilled once (the default) or the whole sequence recomputed for every new token (the reference).
void generate(benchmark::State& state, bool use_prefix_cache) {
  auto& f = Fixture::get();
  auto model = make_emotion_model(*f.vlm, f.config, "", EmotionModelParts::prompt_only());
  torch::NoGradGuard ng;
  int64_t step = 0, tokens = 0;
  for (auto _ : state) {
    auto visual = f.cached->visual(batch_of(state.range(0), f.cached->size(), step++));
    std::vector<SequenceSpec> prompts;
    for (int64_t i = 0; i < visual.size(0); ++i) prompts.push_back(model.spec(visual[i], torch::Tensor(), nullptr));
    for (const auto& text : generate_greedy(*f.vlm, *model.builder, prompts, 8, use_prefix_cache))
      tokens += static_cast<int64_t>(f.vlm->tokenizer().encode(text).size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["answer_tokens"] = benchmark::Counter(static_cast<double>(tokens) / static_cast<double>(state.iterations() * state.range(0)));
}
void BM_Generate(benchmark::State& state) { generate(state, true); }
void BM_GenerateWithoutPrefixCache(benchmark::State& state) { generate(state, false); }

void eval_rank_labels(benchmark::State& state, bool use_prefix_cache) {
  auto& f = Fixture::get();
  auto model = make_emotion_model(*f.vlm, f.config, "", EmotionModelParts::prompt_only());
  torch::NoGradGuard ng;
  int64_t step = 0;
  for (auto _ : state) {
    auto ids = batch_of(state.range(0), f.cached->size(), step++);
    auto visual = f.cached->visual(ids);
    std::vector<SequenceSpec> prompts;
    for (int64_t i = 0; i < visual.size(0); ++i) prompts.push_back(model.spec(visual[i], torch::Tensor(), nullptr));
    benchmark::DoNotOptimize(score_candidates(*f.vlm, *model.builder, prompts, model.labels, 64, use_prefix_cache));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
// Label ranking prefills each prompt once for its 8 candidates (the default) ...
void BM_EvalRankLabels(benchmark::State& state) { eval_rank_labels(state, true); }
// ... or scores every (prompt, label) sequence whole (the reference).
void BM_EvalRankLabelsWithoutPrefixCache(benchmark::State& state) { eval_rank_labels(state, false); }

void logits(benchmark::State& state, bool rows_only) {
  auto& f = Fixture::get();
  auto model = make_emotion_model(*f.vlm, f.config, "", EmotionModelParts::prompt_only());
  torch::NoGradGuard ng;
  auto visual = f.cached->visual(batch_of(16, f.cached->size(), 0));
  std::vector<SequenceSpec> specs;
  for (int64_t i = 0; i < 16; ++i) specs.push_back(model.spec(visual[i], torch::Tensor(), &model.labels[static_cast<size_t>(i % 8)]));
  auto batch = model.builder->assemble(specs);
  for (auto _ : state) {
    if (rows_only) benchmark::DoNotOptimize(score_answers(*f.vlm, batch));
    else benchmark::DoNotOptimize(torch::log_softmax(f.vlm->forward(batch.embeds, batch.attention_mask), -1));
  }
  state.SetItemsProcessed(state.iterations() * 16);
}
void BM_ScoreAnswersRowsOnly(benchmark::State& state) { logits(state, true); }
void BM_FullLogitsReference(benchmark::State& state) { logits(state, false); }

BENCHMARK(BM_Stage1TrainStep)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Stage2TrainStep)->ArgsProduct({{1, 16}, {0, 1}})->ArgNames({"batch", "aspects"})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Stage2TrainStepWithoutPrefixCache)->ArgsProduct({{1, 16}, {0, 1}})->ArgNames({"batch", "aspects"})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Stage2TrainStepEncodingEveryStep)->Args({16, 0})->ArgNames({"batch", "aspects"})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EvalRankLabels)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EvalRankLabelsWithoutPrefixCache)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Generate)->Arg(1)->Arg(16)->Arg(64)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GenerateWithoutPrefixCache)->Arg(1)->Arg(16)->Arg(64)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ScoreAnswersRowsOnly)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FullLogitsReference)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace emotune

// As the emotune binary does (core/openmp_policy.h): sleeping OpenMP workers unless the caller chose, so the
// figures are those of what users run (issue 28, finding 11: spinning workers made a stage-2 step 2.5x slower).
int main(int argc, char** argv) {
  emotune::restart_with_passive_openmp(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
