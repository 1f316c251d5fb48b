// The personal.* (per-user soft prompts and heads) and dpt.* (discrete prompt tuning, paper 000) keys.
#include "config/config.h"
#include "core/error.h"

namespace emotune {

void bind_endpoint(ConfigSchema& s, const std::string& prefix, EndpointConfig& e) {
  s.add(prefix + ".base_url", &e.base_url, "OpenAI-compatible API base URL (…/chat/completions is appended), e.g. https://api.openai.com/v1");
  s.add(prefix + ".model", &e.model, "model name sent with every request");
  s.add(prefix + ".api_key_env", &e.api_key_env, "environment variable holding the API key (the key itself is never logged or stored)");
  s.add(prefix + ".temperature", &e.temperature, "sampling temperature");
  s.add(prefix + ".max_tokens", &e.max_tokens, "completion token limit per call");
  s.add(prefix + ".timeout_s", &e.timeout_s, "seconds before a call is abandoned and retried");
  s.add(prefix + ".max_retries", &e.max_retries, "retries of a call after 429, 5xx, time-outs, connection errors or malformed JSON");
  s.add(prefix + ".backoff_initial_s", &e.backoff_initial_s, "first back-off; doubles per retry, with full jitter");
  s.add(prefix + ".backoff_max_s", &e.backoff_max_s, "back-off ceiling");
  s.add(prefix + ".usd_per_million_prompt_tokens", &e.usd_per_million_prompt_tokens, "price of prompt tokens, for cost accounting");
  s.add(prefix + ".usd_per_million_completion_tokens", &e.usd_per_million_completion_tokens, "price of completion tokens");
}

void bind_personal_config(ConfigSchema& s, PersonalConfig& p, DiscreteConfig& d) {
  s.add("personal.methods", &p.methods, "what `emotune personalize` fits per user: head and/or prompt");
  s.add("personal.global_checkpoint", &p.global_checkpoint, "the global stage-2 checkpoint (empty: stage 1 and 2 are trained into run_dir first)");
  s.add("personal.users", &p.users, "users to personalise (empty: every user in the manifest)");
  s.add("personal.holdout_fraction", &p.holdout_fraction, "share of each user's training images held out for early stopping");
  s.add("personal.eval_every", &p.eval_every, "optimisation steps between held-out checks");
  s.add("personal.patience", &p.patience, "held-out checks without improvement before a user's fit stops");
  s.add("personal.prompt_steps", &p.prompt_steps, "most optimisation steps of a user's soft prompt");
  s.add("personal.prompt_lr", &p.prompt_lr, "Adam learning rate of user soft prompts");
  s.add("personal.prompt_l2", &p.prompt_l2, "pull of a user's soft prompt toward the global one (0: off)");
  s.add("personal.head_inputs", &p.head_inputs, "features of the personalisation head: aspect_tokens and/or label_scores");
  s.add("personal.head_global_steps", &p.head_global_steps, "most steps of the global head (all users' training images)");
  s.add("personal.head_steps", &p.head_steps, "most steps of a user's head");
  s.add("personal.head_lr", &p.head_lr, "Adam learning rate of the heads");
  s.add("personal.head_l2", &p.head_l2, "pull of a user's head toward the global head");
  s.add("personal.head_weight_decay", &p.head_weight_decay, "L2 penalty of the global head's weights");

  s.add_choice("dpt.proposer", &d.proposer, {"evolutionary", "openai"}, "who writes prompts: the built-in evolutionary proposer or an OpenAI-compatible LLM");
  s.add_choice("dpt.target", &d.target, {"bundle", "openai"}, "the model the prompts are for: the local bundle (label ranking) or an OpenAI-compatible vision endpoint");
  bind_endpoint(s, "dpt.proposer_endpoint", d.proposer_endpoint);
  bind_endpoint(s, "dpt.target_endpoint", d.target_endpoint);
  s.add("dpt.initial_prompts", &d.initial_prompts, "N: prompts proposed per initialisation (paper: 6)");
  s.add("dpt.proposals_per_step", &d.proposals_per_step, "T: modified prompts per step (paper: 5)");
  s.add("dpt.steps", &d.steps, "I1: modification steps per restart (paper: 20)");
  s.add("dpt.restarts", &d.restarts, "I2: restarts per initialisation (paper: 2)");
  s.add("dpt.initializations", &d.initializations, "I3: independent initialisations (paper: 3)");
  s.add("dpt.vote_prompts", &d.vote_prompts, "H: best prompts whose majority vote is the prediction (paper: 5)");
  s.add("dpt.feedback_best", &d.feedback_best, "best prompts (with scores) shown to the proposer (paper: 3)");
  s.add("dpt.feedback_worst", &d.feedback_worst, "worst prompts (with scores) shown to the proposer (paper: 3)");
  s.add_choice("dpt.restart_from", &d.restart_from, {"best", "initial"}, "what a restart keeps: the best prompts so far, or only the initialisation's prompts");
  s.add("dpt.train_images", &d.train_images, "L: training images per user that score a prompt (0: all)");
  s.add("dpt.users", &d.users, "users to tune (empty: every user in the manifest)");
  s.add("dpt.concurrency", &d.concurrency, "model calls in flight at once");
  s.add("dpt.budget_usd", &d.budget_usd, "stop cleanly before spending more than this (0: no limit)");
  s.add("dpt.budget_tokens", &d.budget_tokens, "stop cleanly before using more tokens than this (0: no limit)");
  s.add("dpt.task", &d.task, "the task as described to the proposer LLM");
  s.add("dpt.answer_format", &d.answer_format, "appended to every prompt unless it has {labels}; {labels} is the label list");
  s.add("dpt.fragments", &d.fragments, "evolutionary proposer: prompt fragments to recombine (empty: built-in)");
  s.add("dpt.stop_after_calls", &d.stop_after_calls, "stop after this many new model calls (resumable; for time-boxed jobs)");
}

void validate_personal_config(const PersonalConfig& p, const DiscreteConfig& d) {
  for (const auto& m : p.methods)
    if (m != "head" && m != "prompt") raise("config key 'personal.methods': expected 'head' and/or 'prompt', got '", m, "'");
  for (const auto& m : p.head_inputs)
    if (m != "aspect_tokens" && m != "label_scores")
      raise("config key 'personal.head_inputs': expected 'aspect_tokens' and/or 'label_scores', got '", m, "'");
  if (p.holdout_fraction < 0 || p.holdout_fraction >= 1) raise("config key 'personal.holdout_fraction' must be in [0, 1), got ", p.holdout_fraction);
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) raise("config key '", key, "' must be positive, got ", v);
  };
  positive(p.eval_every, "personal.eval_every");
  positive(p.patience, "personal.patience");
  positive(d.initial_prompts, "dpt.initial_prompts");
  positive(d.proposals_per_step, "dpt.proposals_per_step");
  positive(d.restarts, "dpt.restarts");
  positive(d.initializations, "dpt.initializations");
  positive(d.vote_prompts, "dpt.vote_prompts");
  positive(d.concurrency, "dpt.concurrency");
  if (d.steps < 0) raise("config key 'dpt.steps' must be >= 0, got ", d.steps);
}

}  // namespace emotune
