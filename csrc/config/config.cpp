#include "config/config.h"

#include "config/did_you_mean.h"
#include "core/error.h"

namespace emotune {

StringListMap default_aspect_questions() {
  return {
      {"facial_expression",
       {"What facial expression does the person in the image show? Answer with one of: angry, disgust, fear, happy, sad, surprise.",
        "Which expression is on the face in this picture? Choose from: angry, disgust, fear, happy, sad, surprise.",
        "Describe the facial expression in the image using one of: angry, disgust, fear, happy, sad, surprise."}},
      {"object",
       {"What objects appear in the image? Answer briefly.", "List the main objects in this picture.",
        "Which things can be seen in the image?"}},
      {"scene",
       {"What is the background scene of the image? Answer briefly.", "Where was this picture taken?",
        "Describe the scene of the image in a few words."}},
      {"human_action",
       {"What action is the person in the image doing? Answer briefly.", "What is the human in this picture doing?",
        "Describe the activity of the person in the image."}},
      {"brightness",
       {"How bright is the image? Answer with one of: very low, low, moderate, high, very high.",
        "Rate the brightness of this picture: very low, low, moderate, high or very high.",
        "What is the brightness level of the image? Choose from: very low, low, moderate, high, very high."}},
      {"colorfulness",
       {"How colorful is the image? Answer with one of: very low, low, moderate, high, very high.",
        "Rate the colorfulness of this picture: very low, low, moderate, high or very high.",
        "What is the colorfulness level of the image? Choose from: very low, low, moderate, high, very high."}},
  };
}

namespace {
// Applies an overlay's layers (YAML maps, then key=value assignments, in order) through `schema`.
void apply_overlay(ConfigSchema& schema, const ConfigOverlay& overlay) {
  for (const auto& layer : overlay.layers) {
    if (layer.map.IsMap()) schema.apply(layer.map, layer.source);
    else schema.apply_override(layer.assignment);
  }
}

// A new overlay layer is applied to a scratch config when read, so a wrong key or value is reported with its
// file and line (cross-key checks come when a stage's config is made, with_overlay).
void check_overlay(const ConfigOverlay& overlay) {
  EmotuneConfig scratch;
  scratch.masp.questions = default_aspect_questions();
  auto schema = bind_config(scratch);
  apply_overlay(schema, overlay);
}

// The old string form (ablation.stage1_set: [train.lr=3e-4]) refused, with the typed section to write instead.
std::string retired_stage_set_hint(const std::string& section, const YAML::Node& value) {
  std::string keys;
  if (value.IsSequence())
    for (const auto& item : value) {
      auto text = item.IsScalar() ? item.Scalar() : std::string();
      auto eq = text.find('=');
      if (eq == std::string::npos) continue;
      keys += (keys.empty() ? "" : ", ") + text.substr(0, eq) + ": " + text.substr(eq + 1);
    }
  if (keys.empty()) keys = "train.lr: 0.001";
  return concat("(key=value strings) was replaced by the typed section '", section, "': write ", section, ": {", keys, "}");
}
}  // namespace

ConfigSchema bind_config(EmotuneConfig& c) {
  ConfigSchema s;
  s.add("bundle", &c.bundle, "directory of the frozen VLM bundle (docs/bundle.md)");
  s.add("run_dir", &c.run_dir, "where checkpoints, metrics.jsonl and reports are written");
  s.add("seed", &c.seed, "seed of every random choice (data order, templates, initialisation)");
  s.add("threads", &c.threads, "CPU threads for LibTorch; 0 keeps its default");
  s.add("device", &c.device, "where the VLM and the trained tensors live: cpu, cuda or cuda:N");
  s.add_choice("precision", &c.precision, {"fp32", "bf16"},
               "fp32, or bf16 for the frozen VLM and frozen aspect modules (trained tensors and optimizer state stay fp32)");

  s.add_enum("vlm.positions", &c.vlm.positions,
               "plain: 1-D positions on all M-RoPE axes (reference MASP code); mrope: Qwen2-VL's 3-D positions (bundles with positions.kind: mrope)");

  s.add("data.manifest", &c.data.manifest, "JSONL manifest (docs/data.md)");
  s.add("data.train_split", &c.data.train_split, "split used for training");
  s.add("data.eval_split", &c.data.eval_split, "split used for evaluation");
  s.add("data.skip_bad_images", &c.data.skip_bad_images, "skip (and count) missing or undecodable images instead of failing");
  s.add_choice("data.duplicate_rows", &c.data.duplicate_rows, {"error", "drop"},
               "manifest rows repeating an earlier row's image, user and split: an error naming both lines, or dropped (counted)");
  s.add("data.labels", &c.data.labels, "the emotion label set, in the order listed to the model");
  s.add("data.max_samples", &c.data.max_samples, "use at most this many manifest rows per split (0: all)");
  s.add("data.exif_orientation", &c.data.exif_orientation,
        "turn a photo as its EXIF orientation says, as a viewer sees it (false: the stored pixels, as the reference code's PIL loading)");
  s.add("data.max_image_pixels", &c.data.max_image_pixels,
        "refuse an image of more pixels, naming the file and its size (0: no limit; default PIL's decompression-bomb limit)");
  s.add("data.pixel_cache", &c.data.pixel_cache,
        "a directory written by `emotune cache-pixels`: every image's decoded pixels come from it (needed without OpenCV)");
  s.add("data.cache_features", &c.data.cache_features, "encode every image once up front and keep V_global (and stage-2 aspect tokens) in memory");

  s.add("masp.aspects", &c.masp.aspects, "aspect names, in the order of Eq. 3");
  s.add("masp.queries_per_aspect", &c.masp.queries_per_aspect, "learnable query tokens per aspect (paper: 1, reference code: 5)");
  s.add("masp.soft_prompt_length", &c.masp.soft_prompt_length, "L_p, soft prompt tokens (paper: 32)");
  s.add_choice("masp.soft_prompt_init", &c.masp.soft_prompt_init, {"random", "text"}, "random (paper) or the embeddings of soft_prompt_init_text");
  s.add("masp.soft_prompt_init_text", &c.masp.soft_prompt_init_text, "text whose token embeddings initialise the soft prompt (repeated to length)");
  s.add_enum("masp.prompt_placement", &c.masp.prompt_placement,
               "paper: [V_fused; soft; query] (Eq. 4); reference: the code's copy before the image and before the query");
  s.add("masp.use_aspects", &c.masp.use_aspects, "stage 2 feeds the aspect tokens (V+A+S); false trains V+S");
  s.add("masp.aspects_checkpoint", &c.masp.aspects_checkpoint, "stage-1 checkpoint whose aspect modules stage 2 uses");
  s.add("masp.loss_on_end_of_turn", &c.masp.loss_on_end_of_turn, "the answer's end-of-turn token is a target (the reference code leaves it out)");
  s.add("masp.skip_zero_values", &c.masp.skip_zero_values, "reference-code quirk: drop brightness/colorfulness equal to 0.0");
  s.add_enum("masp.label_list_style", &c.masp.label_list_style, "how {labels} is rendered: a, b, c or ['a', 'b', 'c'] (reference code)");
  s.add("masp.emotion_question", &c.masp.emotion_question, "the emotion query T_user; {labels} is replaced by the label list");
  s.add("masp.questions", &c.masp.questions, "per aspect, question templates; training draws one per sample, evaluation uses the first");
  s.add("masp.system_prompt", &c.masp.system_prompt, "system message of the chat template");

  s.add_choice("distributed.backend", &c.distributed.backend, {"auto", "gloo", "nccl"},
               "process group of a torchrun launch: auto (nccl on CUDA when built with it, else gloo), gloo or nccl");
  s.add("distributed.timeout_s", &c.distributed.timeout_s,
        "seconds the rendezvous or one collective may wait for the other ranks before the run fails");
  s.add_choice("train.optimizer", &c.train.optimizer, {"adamw", "sgd"}, "optimizer");
  s.add("train.lr", &c.train.lr, "peak learning rate");
  s.add("train.weight_decay", &c.train.weight_decay, "decoupled (AdamW) or L2 (SGD) weight decay");
  s.add("train.momentum", &c.train.momentum, "SGD momentum");
  s.add("train.beta1", &c.train.beta1, "AdamW beta1");
  s.add("train.beta2", &c.train.beta2, "AdamW beta2");
  s.add("train.eps", &c.train.eps, "AdamW epsilon");
  s.add("train.warmup_ratio", &c.train.warmup_ratio, "fraction of steps with linear warm-up");
  s.add_choice("train.schedule", &c.train.schedule, {"linear", "constant"}, "after warm-up: linear decay to 0, or constant");
  s.add("train.batch_size", &c.train.batch_size, "samples per forward pass");
  s.add("train.grad_accum", &c.train.grad_accum, "forward passes per optimizer step");
  s.add("train.epochs", &c.train.epochs, "passes over the training samples");
  s.add("train.max_steps", &c.train.max_steps, "optimizer steps; > 0 overrides epochs");
  s.add("train.shuffle", &c.train.shuffle, "shuffle samples every epoch (seeded)");
  s.add("train.checkpoint_every", &c.train.checkpoint_every, "optimizer steps between checkpoints (and at the end)");
  s.add("train.max_grad_norm", &c.train.max_grad_norm, "clip the gradient norm (0: off)");
  s.add("train.resume", &c.train.resume, "continue from run_dir's resume checkpoint when there is one");
  s.add_enum("train.loss_reduction", &c.train.loss_reduction,
             "token_mean: the mean over every answer token of a step (Hugging Face's causal-LM loss); sample_mean: the mean of each sample's token mean");
  s.add("train.stop_after_steps", &c.train.stop_after_steps, "stop this invocation after N steps, checkpointing first (for time-boxed jobs)");
  s.add("train.validation_split", &c.train.validation_split,
        "a split of data.manifest whose loss is logged at every epoch's end (e.g. val); empty: no validation");
  s.add("train.validate_every", &c.train.validate_every, "also validate every N optimizer steps (0: at epoch ends only)");

  s.add_enum("eval.mode", &c.eval.mode, "rank: score every label by log-likelihood; generate: greedy decoding, exact match of the first line");
  s.add_enum("eval.inference", &c.eval.inference,
             "plain: one query listing every label; sepm: SEPM's coarse-to-fine inference with token drop (docs/sepm.md)");
  s.add("eval.max_new_tokens", &c.eval.max_new_tokens, "generation limit");
  s.add("sepm.alpha", &c.sepm.alpha, "confidence threshold: a coarse answer whose Eq.-4 variance is not above it is ambiguous (paper: 0.1)");
  s.add("sepm.beta", &c.sepm.beta, "share of visual tokens the fine pass drops, the least attended by the FoE sentence (paper: 0.2, code: 0.1)");
  s.add_enum("sepm.variance", &c.sepm.variance, "paper: Eq. 4, (pA-pB)^2/4; code: the authors' unbiased variance, (pA-pB)^2/2");
  s.add_enum("sepm.drop_over", &c.sepm.drop_over, "visual: drop among the visual tokens (paper); visual_and_aspects: among the aspect tokens too");
  s.add("sepm.ambiguity_note", &c.sepm.ambiguity_note, "below alpha the fine query says the emotion is ambiguous between positive and negative (paper)");
  s.add("eval.batch_size", &c.eval.batch_size, "sequences per forward pass during evaluation");
  s.add("eval.checkpoint", &c.eval.checkpoint, "checkpoint to evaluate (default: run_dir/checkpoint.safetensors)");
  s.add("eval.out_dir", &c.eval.out_dir, "where results go (default: run_dir/eval-<split>)");
  s.add("eval.dimension_head", &c.eval.dimension_head, "a dimension head fitted on eval.checkpoint (emotune fit-dimensions): predictions then carry its ratings; empty: none");

  s.add("eval.checkpoints", &c.eval.checkpoints, "rows of the evaluation table: name=checkpoint (name= alone: zero-shot)");
  s.add("eval.datasets", &c.eval.datasets, "columns of the evaluation table: name=dataset.yaml (from emotune prepare)");

  s.add("sweep.key", &c.sweep.key, "config key that differs between the stage-2 runs of `emotune sweep` (e.g. masp.soft_prompt_length)");
  s.add("sweep.values", &c.sweep.values, "its values, one run each");
  s.add("sweep.single_aspect", &c.sweep.single_aspect, "one run per aspect of masp.aspects using only that aspect (MASP Figure 3)");

  s.add("prepare.seed", &c.prepare.seed, "seed of computed splits (independent of the training seed)");
  s.add("prepare.split_ratios", &c.prepare.split_ratios, "[train, val, test] fractions of computed splits (empty: the dataset's custom)");
  s.add("prepare.csv", &c.prepare.csv, "the vote / ground-truth table, when not at its usual place");
  s.add("prepare.image_pattern", &c.prepare.image_pattern, "where images lie, relative to the dataset root, with {placeholders} (WEBEmo, Affection, Flickr, Instagram)");
  s.add("prepare.webemo_classes", &c.prepare.webemo_classes, "WEBEmo label set: 25, 7 or 2 classes");
  s.add("prepare.label_map", &c.prepare.label_map, "YAML file mapping source labels to target labels (WEBEmo 7/2, image folders)");
  s.add("prepare.user_train_fraction", &c.prepare.user_train_fraction, "per-user split: share of each user's images for training (paper 000: 0.3)");
  s.add("prepare.user_val_fraction", &c.prepare.user_val_fraction, "per-user split: share for validation");
  s.add("prepare.labels", &c.prepare.labels, "image folders: the label set (empty: the class folder names)");
  s.add_choice("prepare.missing_images", &c.prepare.missing_images, {"error", "drop"}, "a listed image that does not exist: an error, or dropped and counted");
  s.add("prepare.resplit", &c.prepare.resplit, "replace an existing splits.json whose input or settings changed (kept as splits.json.bak)");

  bind_personal_config(s, c.personal, c.dpt);
  bind_lantern_config(s, c.lantern);
  bind_dimensions_config(s, c.dimensions);

  s.add_overlay("ablation.stage1", &c.ablation.stage1, check_overlay,
                "config keys for stage 1 of `emotune ablate` only, e.g. {train: {lr: 3e-4, epochs: 1}}");
  s.add_overlay("ablation.stage2", &c.ablation.stage2, check_overlay,
                "config keys for the stage-2 runs of `emotune ablate` only, e.g. {train: {lr: 0.1, epochs: 10}}");
  s.add_retired("ablation.stage1_set", [](const YAML::Node& n) { return retired_stage_set_hint("ablation.stage1", n); });
  s.add_retired("ablation.stage2_set", [](const YAML::Node& n) { return retired_stage_set_hint("ablation.stage2", n); });
  s.add("ablation.reference_accuracy", &c.ablation.reference_accuracy, "an accuracy to print beside the table (e.g. the split's Bayes limit); < 0: none");
  s.add("ablation.reference_name", &c.ablation.reference_name, "the name of that reference row");
  return s;
}

namespace {
void validate(const EmotuneConfig& c) {
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) raise("config key '", key, "' must be positive, got ", v);
  };
  positive(c.masp.queries_per_aspect, "masp.queries_per_aspect");
  positive(c.masp.soft_prompt_length, "masp.soft_prompt_length");
  positive(c.train.batch_size, "train.batch_size");
  positive(c.train.grad_accum, "train.grad_accum");
  positive(c.eval.batch_size, "eval.batch_size");
  positive(c.eval.max_new_tokens, "eval.max_new_tokens");
  if (c.train.validate_every < 0) raise("config key 'train.validate_every' must be 0 (epoch ends only) or positive, got ", c.train.validate_every);
  if (!c.train.validation_split.empty() && c.train.validation_split == c.data.train_split)
    raise("config key 'train.validation_split' is '", c.train.validation_split, "', the training split itself (data.train_split); name a held-out split such as val");
  if (c.data.max_image_pixels < 0)
    raise("config key 'data.max_image_pixels' must be 0 (no limit) or positive, got ", c.data.max_image_pixels);
  if (c.train.epochs <= 0 && c.train.max_steps <= 0) raise("config: train.epochs or train.max_steps must be positive");
  if (!(c.sepm.alpha >= 0)) raise("config key 'sepm.alpha' must be 0 or more, got ", c.sepm.alpha);
  if (!(c.sepm.beta >= 0 && c.sepm.beta < 1)) raise("config key 'sepm.beta' must be in [0, 1), got ", c.sepm.beta);
  if (!(c.distributed.timeout_s > 0)) raise("config key 'distributed.timeout_s' must be positive, got ", c.distributed.timeout_s);
  if (c.train.lr <= 0) raise("config key 'train.lr' must be positive, got ", c.train.lr);
  if (c.train.warmup_ratio < 0 || c.train.warmup_ratio >= 1)
    raise("config key 'train.warmup_ratio' must be in [0, 1), got ", c.train.warmup_ratio);
  if (c.data.labels.size() < 2) raise("config key 'data.labels' needs at least two labels");
  if (c.masp.aspects.empty()) raise("config key 'masp.aspects' needs at least one aspect");
  for (const auto& a : c.masp.aspects)
    if (!c.masp.questions.count(a) || c.masp.questions.at(a).empty())
      raise("config: aspect '", a, "' has no question templates (set masp.questions.", a, ")");
  for (const auto& [name, list] : c.masp.questions) {
    bool known = false;
    for (const auto& a : c.masp.aspects) known |= a == name;
    if (!known)
      raise("config: masp.questions has templates for '", name, "', which is not in masp.aspects",
            suggestion(name, c.masp.aspects));
  }
  if (c.masp.emotion_question.find("{labels}") == std::string::npos)
    raise("config key 'masp.emotion_question' must contain {labels}");
  if (c.masp.soft_prompt_init == "text" && c.masp.soft_prompt_init_text.empty())
    raise("config: masp.soft_prompt_init is 'text' but masp.soft_prompt_init_text is empty");
  validate_personal_config(c.personal, c.dpt);
  validate_lantern_config(c.lantern);
  validate_dimensions_config(c.dimensions);
  if (c.device != "cpu" && c.device.rfind("cuda", 0) != 0)
    raise("config key 'device' must be cpu, cuda or cuda:N, got '", c.device, "'");
}
}  // namespace

namespace {
// Built-in templates of aspects the config does not use are dropped; a user's template for an unknown
// aspect stays and is reported by validate().
void drop_unused_default_questions(EmotuneConfig& c) {
  for (const auto& [name, list] : default_aspect_questions()) {
    bool used = false;
    for (const auto& a : c.masp.aspects) used |= a == name;
    if (!used && c.masp.questions.count(name) && c.masp.questions[name] == list) c.masp.questions.erase(name);
  }
}
}  // namespace

EmotuneConfig load_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  EmotuneConfig c;
  c.masp.questions = default_aspect_questions();
  auto schema = bind_config(c);
  for (const auto& f : files) schema.apply_file(f);
  for (const auto& o : overrides) schema.apply_override(o);
  drop_unused_default_questions(c);
  validate(c);
  return c;
}

EmotuneConfig with_overlay(const EmotuneConfig& base, const ConfigOverlay& overlay) {
  EmotuneConfig c = base;
  // The built-in templates load_config dropped come back first, so an overlay that adds an aspect finds them.
  for (auto& [name, list] : default_aspect_questions()) c.masp.questions.emplace(name, list);
  auto schema = bind_config(c);
  apply_overlay(schema, overlay);
  drop_unused_default_questions(c);
  validate(c);
  return c;
}

std::vector<std::string> with_entries(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

std::string config_to_yaml(const EmotuneConfig& config) {
  EmotuneConfig copy = config;
  return bind_config(copy).to_yaml_string();
}

}  // namespace emotune
