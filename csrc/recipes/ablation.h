// Recipe: MASP's ablation (paper Table 2) on one split — V (zero-shot), V+A, V+S, V+A+rS (random soft
// prompt) and V+A+S (MASP).
//
//   emotune ablate -c configs/quickstart.yaml            (the main job: scripts/quickstart.sh)
//
//   train     stage 1 into run_dir/aspects (ablation.stage1 applied; skipped when masp.aspects_checkpoint is
//             set), stage 2 with aspects into run_dir/prompt and without into run_dir/prompt-v (ablation.stage2
//             applied to both); each resumes where an interrupted run stopped
//   evaluate  the five settings on data.eval_split, each into run_dir/ablation/<setting>/
//   save      run_dir/ablation.md (the table, with chance, ablation.reference_* and the affect world's Bayes
//             limit) and run_dir/ablation.json
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "eval/metrics.h"
#include "masp/stages.h"
#include "train/run_dir.h"

namespace emotune {

// Which trained checkpoint a row evaluates.
enum class AblationCheckpoint { None, Aspects, Prompt, PromptWithoutAspects };

struct AblationSetting {
  const char* name;
  EmotionModelParts parts;
  AblationCheckpoint checkpoint;
};

// The rows of Table 2, in its order.
inline const AblationSetting kAblationV{"V", EmotionModelParts::frozen_vlm(), AblationCheckpoint::None};
inline const AblationSetting kAblationVA{"V+A", EmotionModelParts::aspects_only(), AblationCheckpoint::Aspects};
inline const AblationSetting kAblationVS{"V+S", EmotionModelParts::prompt_only(), AblationCheckpoint::PromptWithoutAspects};
inline const AblationSetting kAblationVArS{"V+A+rS", EmotionModelParts::aspects_random_prompt(), AblationCheckpoint::Aspects};
inline const AblationSetting kAblationVAS{"V+A+S", EmotionModelParts::masp(), AblationCheckpoint::Prompt};
inline const std::vector<AblationSetting> kAblationSettings{kAblationV, kAblationVA, kAblationVS, kAblationVArS, kAblationVAS};

struct AblationRow {
  std::string name;
  ClassificationMetrics metrics;
};

struct AblationResult {
  std::vector<AblationRow> rows;
  std::string table_markdown;
};

class AblationRecipe {
 public:
  explicit AblationRecipe(EmotuneConfig config);
  void train();
  AblationResult evaluate() const;
  AblationResult run() {
    train();
    return evaluate();
  }

 private:
  std::string checkpoint_of(AblationCheckpoint which) const;
  std::string table_of(const std::vector<AblationRow>& rows, nlohmann::json& summary) const;
  EmotuneConfig config_;
  RunDir root_;
  std::string aspects_checkpoint_;
};

// `files` and `overrides` as given on the command line.
AblationResult run_ablation(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

}  // namespace emotune
