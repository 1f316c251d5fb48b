// explain-batch: the exact layout of every sequence of a config's first training batch, position by position,
// so a person can check what the model is fed (and what it is trained to predict).
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "eval/sepm_inference.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "train/trainer.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
struct ExplainArgs {
  ConfigArgs config;
  std::string stage = "aspects", inference = "plain";
  bool json = false, compact = false;
  int64_t sequences = 0;  // 0: all of the batch
};

// Where sequence i comes from, so an outside tool can rebuild the batch: the image (path, manifest line) and,
// in stage 1, the aspect asked about.
nlohmann::json sample_source(const ImageFeatures& images, int64_t image, const std::string& aspect) {
  const auto& row = images.rows().at(static_cast<size_t>(image));
  nlohmann::json out = {{"image", row.image}, {"manifest_line", row.line}};
  if (!aspect.empty()) out["aspect"] = aspect;
  return out;
}

// Every position of sequence s as JSON rows (what --json prints, and what the text forms are printed from).
nlohmann::json sequence_rows(const SequenceBatch& b, const Tokenizer& tok, int64_t s) {
  auto seg = b.segments.to(torch::kCPU);
  auto ids = b.token_ids.to(torch::kCPU);
  // plain: one 1-D position; mrope (vlm.positions): the (t, h, w) triple the model is given.
  auto pos = b.position_ids.to(torch::kCPU);
  auto mask = b.attention_mask.to(torch::kCPU);
  auto loss = b.loss_mask.to(torch::kCPU);
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t t = 0; t < seg.size(1); ++t) {
    auto segment = static_cast<Segment>(seg[s][t].item<uint8_t>());
    int64_t id = ids[s][t].item<int64_t>();
    std::string piece = id >= 0 && segment != Segment::Pad ? tok.piece(id) : "";
    for (auto& ch : piece)
      if (ch == '\n') ch = ' ';
    nlohmann::json position = pos.dim() == 3 ? nlohmann::json{pos[0][s][t].item<int64_t>(), pos[1][s][t].item<int64_t>(),
                                                               pos[2][s][t].item<int64_t>()}
                                             : nlohmann::json(pos[s][t].item<int64_t>());
    rows.push_back({{"index", t}, {"segment", segment_name(segment)}, {"token_id", id}, {"piece", piece},
                    {"position_id", position}, {"attention_mask", mask[s][t].item<int64_t>()}, {"in_loss", loss[s][t].item<bool>()}});
  }
  return rows;
}

std::string position_text(const nlohmann::json& position) {  // "7", or "7,8,9" for M-RoPE's (t, h, w)
  std::string text = position.dump();
  return position.is_array() ? text.substr(1, text.size() - 2) : text;
}

// One line per position; with `compact`, a run of positions of one embedded segment (aspect, visual, soft
// prompt, padding) is one line, "visual ×16".
void print_sequence_text(const nlohmann::json& rows, bool compact) {
  for (size_t i = 0; i < rows.size();) {
    const auto& r = rows[i];
    const bool embedded = r["token_id"].get<int64_t>() < 0 || r["segment"] == "pad";
    size_t run = 1;
    while (compact && embedded && i + run < rows.size() && rows[i + run]["segment"] == r["segment"]) ++run;
    if (run > 1) {
      const auto& last = rows[i + run - 1];
      std::printf("  %5s %-12s %8s %-22s %8s %4lld\n", concat(r["index"], "-", last["index"]).c_str(), r["segment"].get<std::string>().c_str(),
                  "-", concat("×", run).c_str(), concat(position_text(r["position_id"]), "..", position_text(last["position_id"])).c_str(),
                  static_cast<long long>(r["attention_mask"].get<int64_t>()));
    } else {
      const auto id = r["token_id"].get<int64_t>();
      std::printf("  %5lld %-12s %8s %-22s %8s %4lld %s\n", static_cast<long long>(r["index"].get<int64_t>()),
                  r["segment"].get<std::string>().c_str(), id >= 0 ? std::to_string(id).c_str() : "-",
                  r["piece"].get<std::string>().c_str(), position_text(r["position_id"]).c_str(),
                  static_cast<long long>(r["attention_mask"].get<int64_t>()), r["in_loss"].get<bool>() ? "target" : "");
    }
    i += run;
  }
}

// The batch as JSON; the text form printed on the way unless --json.
nlohmann::json explain_batch(const SequenceBatch& b, const Tokenizer& tok, const ExplainArgs& a, const std::vector<nlohmann::json>& sources) {
  const int64_t shown = a.sequences > 0 ? std::min<int64_t>(a.sequences, b.size()) : b.size();
  nlohmann::json out = nlohmann::json::array();
  for (int64_t s = 0; s < shown; ++s) {
    auto rows = sequence_rows(b, tok, s);
    const auto& source = sources.at(static_cast<size_t>(s));
    if (!a.json) {
      std::printf("sequence %lld (%zu positions) from %s\n  %5s %-12s %8s %-22s %8s %4s %s\n", static_cast<long long>(s), rows.size(),
                  source.dump().c_str(), "pos", "segment", "token", "piece", rows[0]["position_id"].is_array() ? "t,h,w" : "position",
                  "mask", "loss");
      print_sequence_text(rows, a.compact);
    }
    out.push_back({{"sequence", s}, {"source", source}, {"positions", std::move(rows)}});
  }
  if (!a.json && shown < b.size())
    std::printf("(%lld of the batch's %lld sequences shown; --sequences 0 shows all)\n", static_cast<long long>(shown),
                static_cast<long long>(b.size()));
  return out;
}

void print_batch(const SequenceBatch& b, const Tokenizer& tok, const ExplainArgs& a, const std::vector<nlohmann::json>& sources) {
  auto out = explain_batch(b, tok, a, sources);
  if (a.json) std::printf("%s\n", out.dump(1).c_str());
}

// SEPM's two passes over the batch's images (eval.inference: sepm): the coarse sequences, then the fine ones with
// the tokens the coarse pass dropped (decided by this config's model: a fresh soft prompt unless one is loaded).
void print_sepm_batches(const EmotionModel& model, const SepmOptions& options, ImageFeatures& images, const std::vector<EmotionSample>& samples,
                        const std::vector<int64_t>& batch, const ExplainArgs& a, const std::vector<nlohmann::json>& sources) {
  std::vector<int64_t> ids;
  for (auto i : batch) ids.push_back(samples.at(static_cast<size_t>(i)).image);
  auto visual = images.visual(ids);
  auto aspects = model.aspect_tokens(visual);
  SepmPredictor sepm(model, options);
  if (!a.json) std::printf("SEPM coarse pass (FoE sentence and the positive/negative query):\n");
  auto coarse = explain_batch(model.builder->assemble(sepm.coarse_specs(visual, aspects)), model.vlm->tokenizer(), a, sources);
  auto traces = sepm.predict(visual, aspects);
  if (!a.json) std::printf("\nSEPM fine pass (beta %.2f: the least attended tokens removed; the options of the coarse answer):\n", options.beta);
  auto fine = explain_batch(model.builder->assemble(sepm.fine_specs(visual, aspects, traces)), model.vlm->tokenizer(), a, sources);
  if (!a.json) return;
  nlohmann::json decided = nlohmann::json::array();
  for (const auto& t : traces) decided.push_back(t.to_json(model.labels));
  std::printf("%s\n", nlohmann::json{{"coarse", coarse}, {"fine", fine}, {"sepm", decided}}.dump(1).c_str());
}

void run_explain(const ExplainArgs& a) {
  EmotuneConfig c = a.config.load();
  // Only the first batch is laid out: its images are encoded when it is, not the whole split up front (every
  // image is still decoded once, so a broken one is named as in training).
  c.data.cache_features = false;
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, c.data.train_split, "data.train_split");
  SequenceBuilder builder(*vlm, layout_options(c));
  if (!a.json) std::printf("chat format of %s (bundle.yaml chat_template): %s\n\n", vlm->spec().name.c_str(), builder.describe_layout().c_str());
  auto first = [&](int64_t n) {
    auto order = epoch_order(n, c.train.shuffle, static_cast<uint64_t>(c.seed), 0);
    order.resize(static_cast<size_t>(std::min<int64_t>(n, c.train.batch_size)));
    return order;
  };
  if (a.inference == "sepm" && a.stage != "prompt") raise("explain-batch: --inference sepm lays out stage 2's sequences; add --stage prompt");
  if (a.stage == "aspects") {
    auto modules = load_aspect_modules(c, vlm->spec().hidden_size, "");
    auto samples = make_aspect_samples(*images, c.masp.aspects, c.masp.skip_zero_values);
    AspectTask task(*vlm, builder, modules, *images, samples, aspect_question_lists(c.masp), static_cast<uint64_t>(c.seed));
    torch::NoGradGuard no_grad;
    auto batch = first(task.num_samples());
    std::vector<nlohmann::json> sources;
    for (auto i : batch) {
      const auto& sample = samples.at(static_cast<size_t>(i));
      sources.push_back(sample_source(*images, sample.image, c.masp.aspects.at(static_cast<size_t>(sample.aspect))));
    }
    print_batch(task.batch(batch, 0), vlm->tokenizer(), a, sources);
    return;
  }
  // The layout does not depend on trained values: without a stage-1 checkpoint, fresh modules stand in.
  bool fresh = c.masp.use_aspects && c.masp.aspects_checkpoint.empty();
  auto model = make_emotion_model(*vlm, c, "", {c.masp.use_aspects && !fresh, true, false});
  if (fresh) model.aspects = load_aspect_modules(c, vlm->spec().hidden_size, "");
  auto samples = make_emotion_samples(*images, c.data.labels);
  PromptTask task(model, *images, samples);
  torch::NoGradGuard no_grad;
  auto batch = first(task.num_samples());
  std::vector<nlohmann::json> sources;
  for (auto i : batch) sources.push_back(sample_source(*images, samples.at(static_cast<size_t>(i)).image, ""));
  if (a.inference == "sepm") return print_sepm_batches(model, sepm_options(c), *images, samples, batch, a, sources);
  print_batch(task.batch(batch), vlm->tokenizer(), a, sources);
}
}  // namespace

void register_explain_command(CLI::App& app) {
  auto a = std::make_shared<ExplainArgs>();
  auto* cmd = app.add_subcommand("explain-batch", "print the exact layout of every sequence in a config's first training batch");
  add_config_options(cmd, a->config);
  cmd->add_option("--stage", a->stage, "aspects (stage 1) or prompt (stage 2)")->check(CLI::IsMember({"aspects", "prompt"}));
  cmd->add_option("--inference", a->inference, "plain, or sepm: SEPM's coarse and fine sequences of the batch (with --stage prompt)")
      ->check(CLI::IsMember({"plain", "sepm"}));
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->add_option("--sequences", a->sequences, "show the first N sequences of the batch (0: all)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--compact", a->compact, "one line for each run of aspect, visual, soft-prompt or padding positions");
  cmd->callback([a] { run_explain(*a); });
}

}  // namespace emotune
