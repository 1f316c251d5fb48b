// Recipe: `emotune personalize` (issue 7, docs/personalization.md) — for every user of the manifest, a soft
// prompt and/or a personalisation head fitted on that user's training images.
//
//   emotune personalize -c configs/personalize.yaml
//
//   setup     the global stage-2 checkpoint: personal.global_checkpoint, or trained first (stage 1 into
//             run_dir/aspects, stage 2 into run_dir/global: recipes/stage_runs.h); aspect tokens and the
//             global prompt's label scores of every image, once
//   fit       per user, a head (personal/personal_head.h) and/or a prompt (personal/user_prompt.h), each a small
//             fit with early stopping; stored together in run_dir/personal.safetensors (keyed by user id),
//             saved after every user's prompt, so an interrupted run resumes with the next user
//   evaluate  per user on their test images, next to the global prompt, the global head and the cross-user
//             control (user k judged with user k+1's prompt or head, paper 000's cross-user experiment), with
//             per-user Bayes limits when the data is an affect world (data/world_facts.h)
//   save      run_dir/personalize/{report.md, summary.json}
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"

namespace emotune {

struct UserResult {
  std::string user;
  int64_t fit = 0, holdout = 0, test = 0;
  // Accuracy on the user's test images, per setting ("global prompt", "user prompt", …); absent: not run.
  std::vector<std::pair<std::string, double>> accuracy;
  double bayes = -1, global_rule = -1;  // from world.json (affect worlds: data/world_facts.h), < 0: unknown
  int64_t prompt_steps = -1, head_steps = -1;
};

struct PersonalizeResult {
  std::vector<UserResult> users;
  std::string report_markdown;
  nlohmann::json summary;
};

PersonalizeResult run_personalize(const std::vector<std::string>& files, const std::vector<std::string>& overrides);
PersonalizeResult run_personalize(const EmotuneConfig& config);

// The per-user table and the summary over users (mean, standard deviation, min, max of every setting).
PersonalizeResult summarize_personalization(std::vector<UserResult> users, const std::string& split);

}  // namespace emotune
