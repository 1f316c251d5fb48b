#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "data/image.h"
#include "eval/decode.h"
#include "io/checkpoint.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
struct PredictArgs {
  ConfigArgs config;
  std::string checkpoint, image;
  bool labels_from_config = false;
};

void run_predict(const PredictArgs& a) {
  EmotuneConfig c = a.config.load();
  adopt_checkpoint_labels(c, a.config, a.checkpoint, a.labels_from_config);
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
  cmd->add_flag("--labels-from-config", a->labels_from_config,
                "rank the config's data.labels even where the checkpoint was trained on others");
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace emotune
