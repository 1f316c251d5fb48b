// From a config to a trained stage: load the bundle and the split, build the task, run the trainer.
// The CLI, the ablation runner and the tests all start stages through these functions.
#pragma once
#include <memory>
#include <string>

#include "config/config.h"
#include "masp/emotion_model.h"
#include "masp/image_features.h"
#include "train/trainer.h"

namespace emotune {

class FrozenVLM;

// Sets seed and threads, then loads the bundle named by config.bundle.
std::unique_ptr<FrozenVLM> open_bundle(const EmotuneConfig& config);
LayoutOptions layout_options(const EmotuneConfig& config);  // masp.* and vlm.positions
// masp.questions as one template list per aspect, in masp.aspects order.
std::vector<std::vector<std::string>> aspect_question_lists(const MaspConfig& masp);
// data.manifest with data.duplicate_rows applied (a drop is reported on stderr).
Manifest load_data_manifest(const EmotuneConfig& config);
// The images of `split`; `key`, when given, names the config key that chose it in the error for an empty split.
std::unique_ptr<ImageFeatures> open_split(FrozenVLM& vlm, const EmotuneConfig& config, const std::string& split,
                                          const char* key = nullptr);
AspectModules load_aspect_modules(const EmotuneConfig& config, int64_t dim, const std::string& checkpoint);

struct EmotionModelParts {
  bool aspects = true;               // use aspect modules (from checkpoint, else masp.aspects_checkpoint)
  bool soft_prompt = true;           // use a soft prompt
  bool random_soft_prompt = false;   // a fresh, untrained soft prompt (the V+A+rS ablation)

  // The combinations by name (paper Table 2's rows, and a fresh prompt without aspects for tests and benches).
  static constexpr EmotionModelParts frozen_vlm() { return {false, false, false}; }             // V
  static constexpr EmotionModelParts aspects_only() { return {true, false, false}; }           // V+A
  static constexpr EmotionModelParts prompt_only() { return {false, true, false}; }            // V+S
  static constexpr EmotionModelParts aspects_random_prompt() { return {true, true, true}; }    // V+A+rS
  static constexpr EmotionModelParts masp() { return {true, true, false}; }                    // V+A+S
  static constexpr EmotionModelParts random_prompt() { return {false, true, true}; }           // S fresh, no aspects
};
// The parts a checkpoint holds (none for ""): aspect modules and/or a soft prompt.
EmotionModelParts parts_in_checkpoint(const std::string& checkpoint);
// The stage-2 predictor; tensors from `checkpoint` where it holds them.
EmotionModel make_emotion_model(FrozenVLM& vlm, const EmotuneConfig& config, const std::string& checkpoint,
                                const EmotionModelParts& parts);

// Each logs the loss of train.validation_split, when set, as it trains (train/trainer.h).
TrainResult train_aspects(const EmotuneConfig& config);
TrainResult train_prompt(const EmotuneConfig& config);

}  // namespace emotune
