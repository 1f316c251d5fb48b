// explain-batch: the exact layout of every sequence of a config's first training batch, position by position,
// so a person can check what the model is fed (and what it is trained to predict).
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>

#include "cli/commands.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "train/trainer.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
struct ExplainArgs {
  ConfigArgs config;
  std::string stage = "aspects";
  bool json = false;
};

// Where sequence i comes from, so an outside tool can rebuild the batch: the image (path, manifest line) and,
// in stage 1, the aspect asked about.
nlohmann::json sample_source(const ImageFeatures& images, int64_t image, const std::string& aspect) {
  const auto& row = images.rows().at(static_cast<size_t>(image));
  nlohmann::json out = {{"image", row.image}, {"manifest_line", row.line}};
  if (!aspect.empty()) out["aspect"] = aspect;
  return out;
}

void print_batch(const SequenceBatch& b, const Tokenizer& tok, bool as_json, const std::vector<nlohmann::json>& sources) {
  nlohmann::json out = nlohmann::json::array();
  auto seg = b.segments.to(torch::kCPU);
  auto ids = b.token_ids.to(torch::kCPU);
  // plain: one 1-D position; mrope (vlm.positions): the (t, h, w) triple the model is given.
  auto pos = b.position_ids.to(torch::kCPU);
  const bool three_axes = pos.dim() == 3;
  auto position_json = [&](int64_t s, int64_t t) -> nlohmann::json {
    if (!three_axes) return pos[s][t].item<int64_t>();
    return {pos[0][s][t].item<int64_t>(), pos[1][s][t].item<int64_t>(), pos[2][s][t].item<int64_t>()};
  };
  auto position_text = [&](int64_t s, int64_t t) {  // "7", or "7,8,9"
    std::string text = position_json(s, t).dump();
    return three_axes ? text.substr(1, text.size() - 2) : text;
  };
  auto mask = b.attention_mask.to(torch::kCPU);
  auto loss = b.loss_mask.to(torch::kCPU);
  for (int64_t s = 0; s < b.size(); ++s) {
    nlohmann::json rows = nlohmann::json::array();
    const auto& source = sources.at(static_cast<size_t>(s));
    if (!as_json)
      std::printf("sequence %lld (%lld positions) from %s\n  %5s %-12s %8s %-22s %8s %4s %s\n", static_cast<long long>(s),
                  static_cast<long long>(seg.size(1)), source.dump().c_str(), "pos", "segment", "token", "piece",
                  three_axes ? "t,h,w" : "position", "mask", "loss");
    for (int64_t t = 0; t < seg.size(1); ++t) {
      auto segment = static_cast<Segment>(seg[s][t].item<uint8_t>());
      int64_t id = ids[s][t].item<int64_t>();
      std::string piece = id >= 0 && segment != Segment::Pad ? tok.piece(id) : "";
      for (auto& ch : piece)
        if (ch == '\n') ch = ' ';
      bool in_loss = loss[s][t].item<bool>();
      rows.push_back({{"index", t}, {"segment", segment_name(segment)}, {"token_id", id}, {"piece", piece},
                      {"position_id", position_json(s, t)}, {"attention_mask", mask[s][t].item<int64_t>()},
                      {"in_loss", in_loss}});
      if (!as_json)
        std::printf("  %5lld %-12s %8s %-22s %8s %4lld %s\n", static_cast<long long>(t), segment_name(segment),
                    id >= 0 ? std::to_string(id).c_str() : "-", piece.c_str(), position_text(s, t).c_str(),
                    static_cast<long long>(mask[s][t].item<int64_t>()), in_loss ? "target" : "");
    }
    out.push_back({{"sequence", s}, {"source", source}, {"positions", rows}});
  }
  if (as_json) std::printf("%s\n", out.dump(1).c_str());
}

void run_explain(const ExplainArgs& a) {
  EmotuneConfig c = a.config.load();
  auto vlm = open_bundle(c);
  auto images = open_split(*vlm, c, c.data.train_split);
  SequenceBuilder builder(*vlm, layout_options(c));
  auto first = [&](int64_t n) {
    auto order = epoch_order(n, c.train.shuffle, static_cast<uint64_t>(c.seed), 0);
    order.resize(static_cast<size_t>(std::min<int64_t>(n, c.train.batch_size)));
    return order;
  };
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
    print_batch(task.batch(batch, 0), vlm->tokenizer(), a.json, sources);
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
  print_batch(task.batch(batch), vlm->tokenizer(), a.json, sources);
}
}  // namespace

void register_explain_command(CLI::App& app) {
  auto a = std::make_shared<ExplainArgs>();
  auto* cmd = app.add_subcommand("explain-batch", "print the exact layout of every sequence in a config's first training batch");
  add_config_options(cmd, a->config);
  cmd->add_option("--stage", a->stage, "aspects (stage 1) or prompt (stage 2)")->check(CLI::IsMember({"aspects", "prompt"}));
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->callback([a] { run_explain(*a); });
}

}  // namespace emotune
