// The lantern.* keys: `emotune refine` (Lantern, paper 004; docs/lantern.md); and the dimensions.* keys: `emotune
// fit-dimensions` (docs/dimensions.md), the head whose ratings Lantern's vanilla file carries.
#include "config/config.h"
#include "core/error.h"

namespace emotune {

void bind_lantern_config(ConfigSchema& s, LanternConfig& l) {
  s.add("lantern.vanilla", &l.vanilla, "JSONL of the vanilla model's per-item predictions (docs/lantern.md); empty: emotune's own model (eval.checkpoint, else zero-shot) over data.manifest's sequences");
  s.add("lantern.dimensions", &l.dimensions, "dimension scores the vanilla file carries (e.g. [valence, arousal, dominance]); empty: none");
  s.add("lantern.window", &l.window, "w: items per receptive field");
  s.add("lantern.fields_per_item", &l.fields_per_item, "t: receptive fields holding each item (divides lantern.window)");
  s.add("lantern.top_k", &l.top_k, "the vanilla model's most likely labels shown per item");
  s.add("lantern.item", &l.item, "what the prompt calls an item (utterance, image, post)");
  s.add("lantern.sequence", &l.sequence, "what the prompt calls a sequence (dialogue, album, timeline)");
  bind_endpoint(s, "lantern.endpoint", l.endpoint);
  s.add("lantern.retries", &l.retries, "re-asks of a field whose answer cannot be read, before the vanilla prediction stands (counted)");
  s.add("lantern.tolerance", &l.tolerance, "a sum of probabilities off by more than this is rescaled and counted");
  s.add("lantern.concurrency", &l.concurrency, "receptive fields asked at once");
  s.add("lantern.budget_usd", &l.budget_usd, "stop cleanly (resumable) once this much is spent; 0: no limit");
  s.add("lantern.budget_tokens", &l.budget_tokens, "stop cleanly once this many tokens are spent; 0: no limit");
  s.add("lantern.stop_after_calls", &l.stop_after_calls, "stop cleanly after this many new LLM calls (tests, time-boxed runs); 0: no limit");
  s.add_choice("lantern.fusion", &l.fusion, {"attention", "uniform"}, "attention: the fitted receptive-field-aware weighting; uniform: the ablation");
  s.add("lantern.fusion_hidden", &l.fusion_hidden, "hidden units of the fusion's scoring MLP");
  s.add("lantern.holdout_split", &l.holdout_split, "the split whose items early-stop the fusion's fit (empty: none)");
}

void validate_lantern_config(const LanternConfig& l) {
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) raise("config key '", key, "' must be positive, got ", v);
  };
  positive(l.window, "lantern.window");
  positive(l.fields_per_item, "lantern.fields_per_item");
  positive(l.top_k, "lantern.top_k");
  positive(l.concurrency, "lantern.concurrency");
  positive(l.fusion_hidden, "lantern.fusion_hidden");
  if (l.window % l.fields_per_item != 0 || l.fields_per_item > l.window)
    raise("config key 'lantern.fields_per_item' (", l.fields_per_item, ") must divide lantern.window (", l.window,
          ") so that every item lies in exactly that many receptive fields");
  if (l.retries < 0) raise("config key 'lantern.retries' must be 0 or more, got ", l.retries);
  if (!(l.tolerance >= 0 && l.tolerance < 1)) raise("config key 'lantern.tolerance' must be in [0, 1), got ", l.tolerance);
}

void bind_dimensions_config(ConfigSchema& s, DimensionsConfig& d) {
  s.add("dimensions.names", &d.names, "the ratings to predict, keys of the manifest's `dimensions` (e.g. [valence, arousal])");
  s.add("dimensions.inputs", &d.inputs, "the head's inputs: aspect_tokens and/or label_scores of eval.checkpoint");
  s.add("dimensions.steps", &d.steps, "full-batch Adam steps of the fit");
  s.add("dimensions.lr", &d.lr, "learning rate of the fit");
  s.add("dimensions.l2", &d.l2, "ridge penalty on the head's weights (standardised units)");
  s.add("dimensions.eval_every", &d.eval_every, "steps between held-out checks");
  s.add("dimensions.patience", &d.patience, "held-out checks without improvement before the fit stops");
  s.add("dimensions.holdout_split", &d.holdout_split, "the split whose images early-stop the fit (empty: none)");
}

void validate_dimensions_config(const DimensionsConfig& d) {
  for (const auto& input : d.inputs)
    if (input != "aspect_tokens" && input != "label_scores")
      raise("config key 'dimensions.inputs': unknown input '", input, "' (expected aspect_tokens and/or label_scores)");
  if (d.steps <= 0 || d.eval_every <= 0 || d.patience <= 0)
    raise("config keys 'dimensions.steps', 'dimensions.eval_every' and 'dimensions.patience' must be positive");
  if (!(d.lr > 0)) raise("config key 'dimensions.lr' must be positive, got ", d.lr);
  if (!(d.l2 >= 0)) raise("config key 'dimensions.l2' must be 0 or more, got ", d.l2);
}

}  // namespace emotune
