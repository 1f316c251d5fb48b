// The recipes' building blocks: a MASP stage trained into a run directory. Every workflow that needs a
// stage-1 or stage-2 checkpoint (ablate, sweep, personalize, and later ones) gets it here, each stage in its
// own sub-directory of the workflow's run_dir, so an interrupted workflow resumes stage by stage.
//
// A stage's settings are the workflow's config with typed changes made in code (run_dir, masp.use_aspects,
// masp.aspects_checkpoint) and, where a workflow has them, its per-stage section (ablation.stage1, a sweep's
// row): config.h's with_overlay.
#pragma once
#include <string>

#include "config/config.h"
#include "train/run_dir.h"

namespace emotune {

// The stage-1 checkpoint: masp.aspects_checkpoint when set, else stage 1 trained (or resumed) into `dir`
// with `stage1` applied. `workflow` names the caller in the progress line.
std::string ensure_aspects(const EmotuneConfig& config, const RunDir& dir, const std::string& workflow,
                           const ConfigOverlay& stage1 = {});

// Stage 2 trained (or resumed) into `dir` with `config` as it is (masp.use_aspects and
// masp.aspects_checkpoint decide the aspect tokens); returns its checkpoint.
std::string train_prompt_into(EmotuneConfig config, const RunDir& dir, const std::string& workflow, const std::string& what);

}  // namespace emotune
