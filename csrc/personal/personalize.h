// `emotune personalize` (issue 7, docs/personalization.md): for every user of the manifest, a soft prompt
// and/or a personalisation head fitted on that user's training images, stored together in
// run_dir/personal.safetensors (keyed by user id), then evaluated per user on their test images next to
// the global prompt, the global head and the cross-user control (user k judged with user k+1's prompt or
// head, paper 000's cross-user experiment), with per-user Bayes limits when the data is an affect world.
//
// The global stage-2 checkpoint comes from personal.global_checkpoint, or is trained first (stage 1 into
// run_dir/aspects, stage 2 into run_dir/global). Prompts are saved after every user, so an interrupted run
// resumes with the next user.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace emotune {

struct UserResult {
  std::string user;
  int64_t fit = 0, holdout = 0, test = 0;
  // Accuracy on the user's test images, per setting ("global prompt", "user prompt", …); absent: not run.
  std::vector<std::pair<std::string, double>> accuracy;
  double bayes = -1, global_rule = -1;  // from world.json (affect worlds), < 0: unknown
  int64_t prompt_steps = -1, head_steps = -1;
};

struct PersonalizeResult {
  std::vector<UserResult> users;
  std::string report_markdown;
  nlohmann::json summary;
};

PersonalizeResult run_personalize(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

// The per-user table and the summary over users (mean, standard deviation, min, max of every setting).
PersonalizeResult summarize_personalization(std::vector<UserResult> users, const std::string& split);

}  // namespace emotune
