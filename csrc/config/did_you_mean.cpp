#include "config/did_you_mean.h"

#include <algorithm>

namespace emotune {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

namespace {
// The names Hugging Face's TrainingArguments (and torchtune) give to what emotune calls otherwise: a key
// ending in one of them is pointed to emotune's name in the same section (suggested, never accepted; the
// README lists them). Edit distance alone cannot see that learning_rate means lr.
const std::vector<std::pair<std::string, std::string>>& leaf_aliases() {
  static const std::vector<std::pair<std::string, std::string>> aliases{
      {"learning_rate", "lr"},
      {"num_train_epochs", "epochs"},
      {"num_epochs", "epochs"},
      {"per_device_train_batch_size", "batch_size"},
      {"per_device_eval_batch_size", "batch_size"},
      {"train_batch_size", "batch_size"},
      {"gradient_accumulation_steps", "grad_accum"},
      {"max_grad_norm_clip", "max_grad_norm"},
      {"lr_scheduler_type", "schedule"},
      {"lr_scheduler", "schedule"},
      {"adam_beta1", "beta1"},
      {"adam_beta2", "beta2"},
      {"adam_epsilon", "eps"},
      {"save_steps", "checkpoint_every"},
      {"resume_from_checkpoint", "resume"},
      {"num_virtual_tokens", "soft_prompt_length"},
  };
  return aliases;
}

std::string alias_of(const std::string& word, const std::vector<std::string>& candidates) {
  const auto dot = word.rfind('.');
  const std::string section = dot == std::string::npos ? "" : word.substr(0, dot + 1), leaf = word.substr(dot == std::string::npos ? 0 : dot + 1);
  for (const auto& [alias, name] : leaf_aliases()) {
    if (leaf != alias) continue;
    for (const auto& c : candidates)  // the same section first, then any section that has the name
      if (c == section + name) return c;
    for (const auto& c : candidates)
      if (c.size() > name.size() && c.compare(c.size() - name.size() - 1, std::string::npos, "." + name) == 0) return c;
  }
  return "";
}
}  // namespace

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  if (auto alias = alias_of(word, candidates); !alias.empty()) return alias;
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    // Compare the last dotted component too, so "train.lerning_rate" finds "train.lr"'s neighbours by leaf.
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  size_t budget = std::max<size_t>(2, word.size() / 3);
  return best_d <= budget ? best : std::string();
}

std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  auto near = nearest(word, candidates);
  return near.empty() ? "" : " (did you mean '" + near + "'?)";
}

}  // namespace emotune
