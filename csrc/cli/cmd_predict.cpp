#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "data/image.h"
#include "core/error.h"
#include "eval/decode.h"
#include "eval/sepm_inference.h"
#include "io/checkpoint.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
struct PredictArgs {
  ConfigArgs config;
  std::string checkpoint, image, inference;
  bool labels_from_config = false;
};

std::string indices(const std::vector<int64_t>& v) {
  std::string out;
  for (auto i : v) out += (out.empty() ? "" : " ") + std::to_string(i);
  return out.empty() ? "none" : out;
}

// SEPM's two passes for one image, and what each decided.
void print_sepm_prediction(const EmotionModel& model, const SepmOptions& options, const torch::Tensor& visual, const torch::Tensor& aspects) {
  const auto t = SepmPredictor(model, options).predict(visual, aspects).at(0);
  std::printf("SEPM coarse: p(A positive) %.4f, p(B negative) %.4f -> %s; confidence %.4f (%s variance) %s alpha %.3f -> %s\n", t.p_a,
              t.p_b, polarity_name(t.polarity), t.confidence, name_of(options.variance), t.confident ? ">" : "<=", options.alpha,
              t.confident ? "confident: the polarity's options only" : "ambiguous: every option");
  std::string kept;
  for (size_t k = 0; k < t.kept.size(); ++k)
    if (t.kept[k]) kept += concat(kept.empty() ? "" : ", ", static_cast<char>('A' + k), ". ", model.labels[k]);
  std::printf("SEPM fine options: %s\n", kept.c_str());
  std::printf("SEPM dropped visual tokens (beta %.2f, %zu of %zu): %s\n", options.beta, t.dropped_visual.size(), t.visual_scores.size(),
              indices(t.dropped_visual).c_str());
  if (!t.aspect_scores.empty()) std::printf("SEPM dropped aspect tokens: %s\n", indices(t.dropped_aspects).c_str());
  std::printf("SEPM answer: \"%s\" -> %s\n", t.answer.c_str(), t.label >= 0 ? model.labels[static_cast<size_t>(t.label)].c_str() : "(not a kept option's letter)");
  if (t.label >= 0) std::printf("predicted: %s\n", model.labels[static_cast<size_t>(t.label)].c_str());
}

void run_predict(const PredictArgs& a) {
  const ConfigArgs args = inference_config(a.config, a.inference);
  EmotuneConfig c = args.load();
  adopt_checkpoint_labels(c, args, a.checkpoint, a.labels_from_config);
  auto vlm = open_bundle(c);
  torch::NoGradGuard no_grad;
  auto spec = vlm->spec().image;
  spec.decoding = image_decoding(c.data);
  auto visual = vlm->encode_image(load_image(a.image, spec).unsqueeze(0));
  std::string stage = a.checkpoint.empty() ? "zero-shot" : summarize_checkpoint(a.checkpoint).info.stage;
  std::printf("image: %s\n", a.image.c_str());
  if (stage == "aspects") {
    auto modules = load_aspect_modules(c, vlm->spec().hidden_size, a.checkpoint);
    SequenceBuilder builder(*vlm, layout_options(c));
    std::vector<SequenceSpec> prompts;
    for (int64_t i = 0; i < modules->num_aspects(); ++i)
      prompts.push_back(builder.aspect_question(modules->forward(i, visual)[0], c.masp.questions.at(modules->aspects()[i]).front(), nullptr));
    auto answers = generate_greedy(*vlm, builder, prompts, c.eval.max_new_tokens);
    for (size_t i = 0; i < answers.size(); ++i) std::printf("  %-18s %s\n", modules->aspects()[i].c_str(), normalise_answer(answers[i]).c_str());
    return;
  }
  auto model = make_emotion_model(*vlm, c, a.checkpoint, parts_in_checkpoint(a.checkpoint));
  auto aspects = model.aspect_tokens(visual);
  if (c.eval.inference == Inference::Sepm) return print_sepm_prediction(model, sepm_options(c), visual, aspects);
  auto prompt = model.spec(visual[0], aspects.defined() ? aspects[0] : torch::Tensor(), nullptr);
  auto scores = score_candidates(*vlm, *model.builder, {prompt}, model.labels, c.eval.batch_size)[0];
  auto probs = torch::softmax(scores, 0);
  std::vector<int64_t> order(model.labels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return scores[x].item<float>() > scores[y].item<float>(); });
  std::printf("predicted: %s\n", model.labels[static_cast<size_t>(order[0])].c_str());
  for (auto i : order)
    std::printf("  %-14s p=%.3f  log-likelihood %.3f\n", model.labels[static_cast<size_t>(i)].c_str(), probs[i].item<float>(), scores[i].item<float>());
  auto generated = generate_greedy(*vlm, *model.builder, {prompt}, c.eval.max_new_tokens);
  std::printf("generated: \"%s\"\n", normalise_answer(generated[0]).c_str());
}
}  // namespace

void register_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "predict the emotion of one image (stage-1 checkpoint: each aspect's answer)");
  add_config_options(cmd, a->config);
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint; none: the zero-shot VLM");
  cmd->add_option("image", a->image, "image file")->required();
  cmd->add_option("--inference", a->inference, "plain or sepm (prints SEPM's coarse probabilities, confidence, branch and dropped tokens)")
      ->check(CLI::IsMember({"plain", "sepm"}));
  cmd->add_flag("--labels-from-config", a->labels_from_config,
                "rank the config's data.labels even where the checkpoint was trained on others");
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace emotune
