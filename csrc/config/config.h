// emotune's run configuration: every key a YAML config (or --set) may name, with its default.
// The binding of keys to fields lives in one place, bind_config() in config.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/schema.h"

namespace emotune {

struct DataConfig {
  std::string manifest;
  std::string train_split = "train";
  std::string eval_split = "test";
  bool skip_bad_images = false;
  std::string duplicate_rows = "error";  // or "drop": keep the first of rows with the same image, user, split
  std::vector<std::string> labels{"amusement", "awe", "contentment", "excitement",
                                  "anger",     "disgust", "fear",   "sadness"};
  int64_t max_samples = 0;  // 0: all
  bool cache_features = true;
  bool exif_orientation = true;  // turn JPEGs as their EXIF orientation says (false: the stored pixels, as PIL loads them)
  int64_t max_image_pixels = 178956970;  // refuse larger images (PIL's decompression-bomb limit); 0: no limit
  std::string pixel_cache;  // a directory written by `emotune cache-pixels`: images come from it (data/pixel_cache.h)
};

struct MaspConfig {
  std::vector<std::string> aspects{"facial_expression", "object", "scene", "human_action", "brightness", "colorfulness"};
  int64_t queries_per_aspect = 1;  // paper: one query vector; the reference code uses 5
  int64_t soft_prompt_length = 32;
  std::string soft_prompt_init = "random";
  std::string soft_prompt_init_text;
  PromptPlacement prompt_placement = PromptPlacement::Paper;  // Reference: the code's two copies
  bool use_aspects = true;
  std::string aspects_checkpoint;
  bool loss_on_end_of_turn = true;   // reference code: false
  bool skip_zero_values = false;     // reference code quirk: an attribute equal to 0.0 is dropped
  LabelListStyle label_list_style = LabelListStyle::Plain;  // Python: the reference code's ['a', 'b'] rendering
  std::string emotion_question = "Which emotion does this image most strongly evoke? Choose from: {labels}.";
  StringListMap questions;
  std::string system_prompt = "You are a helpful assistant.";
};

struct TrainConfig {
  std::string optimizer = "adamw";
  double lr = 1e-4;
  double weight_decay = 0.01;
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double warmup_ratio = 0.03;
  std::string schedule = "linear";
  int64_t batch_size = 8;
  int64_t grad_accum = 1;
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0 overrides epochs
  bool shuffle = true;
  int64_t checkpoint_every = 50;
  double max_grad_norm = 0.0;
  bool resume = true;
  int64_t stop_after_steps = 0;  // > 0: stop (with a checkpoint) after this many steps of this invocation
  LossReduction loss_reduction = LossReduction::TokenMean;
  // A held-out split whose mean loss is logged (metrics.jsonl "val_loss" lines, the report's curves) at the
  // end of every epoch, every `validate_every` steps when > 0, and at the last step; "": none.
  std::string validation_split;
  int64_t validate_every = 0;
};

struct EvalConfig {
  EvalMode mode = EvalMode::Rank;
  Inference inference = Inference::Plain;
  int64_t max_new_tokens = 8;
  int64_t batch_size = 16;
  std::string checkpoint;
  std::string out_dir;
  // A dimension head fitted on this checkpoint's features (`emotune fit-dimensions`): eval's predictions.jsonl and
  // Lantern's vanilla file then carry its ratings; empty: none.
  std::string dimension_head;
  // The Table-1 grid of `emotune eval`: rows "name=checkpoint" ("name=" for zero-shot), columns
  // "name=dataset.yaml" (written by `emotune prepare`: manifest, labels, splits).
  std::vector<std::string> checkpoints;
  std::vector<std::string> datasets;
};

// `emotune sweep`: stage-2 runs that differ in one setting, evaluated as one table (MASP Table 3, Figure 3).
struct SweepConfig {
  std::string key;                  // e.g. masp.soft_prompt_length
  std::vector<std::string> values;  // e.g. [8, 16, 32, 64, 128]
  bool single_aspect = false;       // one run per aspect of masp.aspects, with only that aspect (Figure 3)
};

// `emotune prepare`: converting a benchmark's original layout into a manifest with splits (docs/datasets.md).
struct PrepareConfig {
  int64_t seed = 3407;
  std::vector<double> split_ratios;  // [train, val, test]; empty: the dataset's customary split
  std::string csv;
  std::string image_pattern;
  int64_t webemo_classes = 25;
  std::string label_map;
  double user_train_fraction = 0.3;
  double user_val_fraction = 0.0;
  std::vector<std::string> labels;
  std::string missing_images = "error";  // error | drop
  bool resplit = false;
};

// `emotune personalize` (docs/personalization.md): per-user soft prompts and personalisation heads.
struct PersonalConfig {
  std::vector<std::string> methods{"head", "prompt"};  // what is fitted per user
  std::string global_checkpoint;  // stage-2 checkpoint (aspects + soft prompt); empty: stages 1-2 trained in run_dir
  std::vector<std::string> users;  // empty: every user of the manifest
  double holdout_fraction = 0.25;  // of each user's training images, held out for early stopping
  int64_t eval_every = 2;          // optimisation steps between held-out checks
  int64_t patience = 4;            // held-out checks without improvement before stopping
  int64_t prompt_steps = 40;
  double prompt_lr = 0.01;
  double prompt_l2 = 0.0;          // λ‖P_u − P_global‖² / numel (an option; early stopping is the default regulariser)
  std::vector<std::string> head_inputs{"aspect_tokens", "label_scores"};
  int64_t head_global_steps = 300;
  int64_t head_steps = 200;
  double head_lr = 3e-4;
  double head_l2 = 0.1;            // λ(‖ΔW‖² + ‖Δb‖²): pull toward the global head
  double head_weight_decay = 0.1;  // of the global head
};

// An OpenAI-compatible chat-completions endpoint (docs/discrete-prompts.md). The API key is read from the
// environment variable named here and never written anywhere.
struct EndpointConfig {
  std::string base_url;  // e.g. https://api.openai.com/v1 (…/chat/completions is appended)
  std::string model;
  std::string api_key_env = "OPENAI_API_KEY";
  double temperature = 1.0;
  int64_t max_tokens = 512;
  double timeout_s = 60;
  int64_t max_retries = 6;
  double backoff_initial_s = 1.0, backoff_max_s = 60;
  double usd_per_million_prompt_tokens = 0, usd_per_million_completion_tokens = 0;
};

// `emotune tune-discrete`: paper 000 §III (N, T, I1, I2, I3, H) with the tool's own bookkeeping.
struct DiscreteConfig {
  std::string proposer = "evolutionary";  // evolutionary | openai
  std::string target = "bundle";          // bundle | openai
  EndpointConfig proposer_endpoint;
  EndpointConfig target_endpoint{"", "", "OPENAI_API_KEY", 0.0, 16};
  int64_t initial_prompts = 6;   // N
  int64_t proposals_per_step = 5;  // T
  int64_t steps = 20;            // I1
  int64_t restarts = 2;          // I2
  int64_t initializations = 3;   // I3
  int64_t vote_prompts = 5;      // H
  int64_t feedback_best = 3, feedback_worst = 3;
  std::string restart_from = "best";  // best: a restart continues from the best prompts so far; initial: from the initialisation's prompts
  int64_t train_images = 0;      // L per user (0: all the user's training images)
  std::vector<std::string> users;
  int64_t concurrency = 4;
  double budget_usd = 0;         // 0: no limit
  int64_t budget_tokens = 0;     // 0: no limit
  std::string task = "recognise the emotion that a particular person feels when looking at an image";
  std::string answer_format = "Answer with exactly one word from: {labels}.";
  std::vector<std::string> fragments;  // evolutionary proposer: prompt fragments (empty: built-in)
  int64_t stop_after_calls = 0;  // > 0: stop after this many new model calls (tests, time-boxed jobs)
};

struct AblationConfig {
  ConfigOverlay stage1;  // config keys for stage 1 only, e.g. {train: {lr: 3e-4, epochs: 1}}
  ConfigOverlay stage2;  // config keys for both stage-2 runs only
  double reference_accuracy = -1;       // e.g. the Bayes limit of a synthetic split; < 0: none
  std::string reference_name = "Bayes-optimal";
};

// `emotune refine`: Lantern (paper 004; docs/lantern.md). The labels are data.labels; the items of the vanilla file
// carry their split, and the fusion is fitted on data.train_split, early-stopped on holdout_split, reported on
// data.eval_split.
struct LanternConfig {
  std::string vanilla;                  // JSONL of per-item vanilla predictions; empty: emotune's model (eval.checkpoint)
  std::vector<std::string> dimensions;  // the dimension scores the vanilla file carries, in prompt order; empty: none
  int64_t window = 8;                   // w: items per receptive field
  int64_t fields_per_item = 2;          // t: receptive fields holding each item (divides window)
  int64_t top_k = 3;                    // reference labels shown per item
  std::string item = "utterance", sequence = "dialogue";  // how the prompt names them
  EndpointConfig endpoint{"", "", "OPENAI_API_KEY", 0.0, 1024};
  int64_t retries = 2;                  // re-asks of a field whose answer is invalid, before the vanilla stands
  double tolerance = 0.02;              // |sum - 1| accepted without counting a rescale
  int64_t concurrency = 4;              // fields asked at once
  double budget_usd = 0;                // 0: no limit
  int64_t budget_tokens = 0;            // 0: no limit
  int64_t stop_after_calls = 0;         // > 0: stop after this many new calls (a clean, resumable stop)
  std::string fusion = "attention";     // attention (fitted) | uniform (the ablation)
  int64_t fusion_hidden = 16;
  std::string holdout_split = "val";    // items that early-stop the fusion's fit ("" or absent: none)
};

// `emotune fit-dimensions` (docs/dimensions.md): a linear head from eval.checkpoint's stage-2 features to continuous
// ratings the manifest carries (`dimensions`: Emotion6's valence and arousal, the affect world's).
struct DimensionsConfig {
  std::vector<std::string> names;  // the ratings to predict, in output order; required
  std::vector<std::string> inputs{"aspect_tokens", "label_scores"};
  int64_t steps = 500;
  double lr = 0.01;
  double l2 = 0.1;                   // ridge on the weights (standardised units)
  int64_t eval_every = 10;
  int64_t patience = 5;
  std::string holdout_split = "val";  // images that early-stop the fit ("" : none)
};

// SEPM's coarse-to-fine inference (paper 003; eval.inference: sepm; docs/sepm.md). Defaults are the paper's.
struct SepmConfig {
  double alpha = 0.1;  // §3.2: a coarse answer whose confidence (Eq. 4) is not above alpha is ambiguous
  double beta = 0.2;   // §3.3, Eq. 9: the share of visual tokens dropped (the authors' code: 0.1)
  SepmVariance variance = SepmVariance::Paper;
  SepmDropOver drop_over = SepmDropOver::Visual;
  bool ambiguity_note = true;  // below alpha, the fine query says the emotion is ambiguous (§3.2)
};

// How the frozen VLM is driven, beyond which bundle (docs/models.md).
struct VlmConfig {
  // plain: 1-D positions 0..L-1 on every axis (the reference MASP code and its checkpoints); mrope: Qwen2-VL's
  // 3-D M-RoPE positions, for bundles with positions.kind: mrope (csrc/masp/sequence.h says what they are).
  PositionMode positions = PositionMode::Plain;
};

// Data-parallel runs launched by torchrun (docs/distributed.md); read only when the launch environment says so.
struct DistributedConfig {
  std::string backend = "auto";  // auto (nccl on CUDA when LibTorch has it, else gloo) | gloo | nccl
  double timeout_s = 300;        // the rendezvous, or one collective, waiting longer than this fails the run
};

struct EmotuneConfig {
  std::string bundle = "models/tiny";
  std::string run_dir = "runs/default";
  int64_t seed = 3407;
  int64_t threads = 0;  // 0: LibTorch's default
  // Where the frozen VLM runs and in which precision. bf16: the VLM and frozen aspect modules in bf16; what
  // trains (soft prompt, stage-1 aspect modules) and the optimizer state stay fp32 (issue 5).
  std::string device = "cpu";     // cpu | cuda | cuda:N
  std::string precision = "fp32";  // fp32 | bf16
  VlmConfig vlm;
  DataConfig data;
  MaspConfig masp;
  TrainConfig train;
  EvalConfig eval;
  SepmConfig sepm;
  AblationConfig ablation;
  SweepConfig sweep;
  PrepareConfig prepare;
  PersonalConfig personal;
  DiscreteConfig dpt;
  DistributedConfig distributed;
  LanternConfig lantern;
  DimensionsConfig dimensions;
};

ConfigSchema bind_config(EmotuneConfig& config);
// The personal.* and dpt.* keys (config_personal.cpp).
void bind_personal_config(ConfigSchema& schema, PersonalConfig& personal, DiscreteConfig& dpt);
void validate_personal_config(const PersonalConfig& personal, const DiscreteConfig& dpt);
// An OpenAI-compatible endpoint's keys under `prefix` (dpt.proposer_endpoint, lantern.endpoint, ...).
void bind_endpoint(ConfigSchema& schema, const std::string& prefix, EndpointConfig& endpoint);
// The lantern.* keys (config_lantern.cpp).
void bind_lantern_config(ConfigSchema& schema, LanternConfig& lantern);
void validate_lantern_config(const LanternConfig& lantern);
// The dimensions.* keys (config_lantern.cpp, beside Lantern's: the ratings its vanilla file carries).
void bind_dimensions_config(ConfigSchema& schema, DimensionsConfig& dimensions);
void validate_dimensions_config(const DimensionsConfig& dimensions);
// Defaults, then each file in order, then each --set override; then cross-key validation.
EmotuneConfig load_config(const std::vector<std::string>& files, const std::vector<std::string>& overrides);
std::string config_to_yaml(const EmotuneConfig& config);
// `base` with an overlay's keys applied on top (after its files and --set overrides), validated like a loaded
// config: a stage's own settings, or a table row's.
EmotuneConfig with_overlay(const EmotuneConfig& base, const ConfigOverlay& overlay);
// `base` followed by `more`: for composing config files and --set overrides.
std::vector<std::string> with_entries(std::vector<std::string> base, const std::vector<std::string>& more);
// The default question templates per aspect (paper §Stage 1; the reference code's wording style).
StringListMap default_aspect_questions();

}  // namespace emotune
