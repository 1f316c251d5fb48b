#include "recipes/personalize.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"
#include "data/world_facts.h"
#include "dist/communicator.h"
#include "eval/evaluate.h"
#include "io/safetensors.h"
#include "masp/stages.h"
#include "personal/personal_head.h"
#include "personal/user_images.h"
#include "personal/user_prompt.h"
#include "recipes/stage_runs.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

bool wants(const std::vector<std::string>& methods, const std::string& m) {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

torch::Tensor labels_of(const std::vector<EmotionSample>& samples, const std::vector<int64_t>& which) {
  std::vector<int64_t> y;
  for (auto i : which) y.push_back(samples.at(static_cast<size_t>(i)).label);
  return torch::tensor(y, torch::kInt64);
}

torch::Tensor rows_of(const torch::Tensor& x, const std::vector<int64_t>& which) {
  return x.index_select(0, torch::tensor(which, torch::kInt64));
}

std::vector<int64_t> concat_all(const std::vector<UserImages>& users, std::vector<int64_t> UserImages::*part) {
  std::vector<int64_t> out;
  for (const auto& u : users) out.insert(out.end(), (u.*part).begin(), (u.*part).end());
  return out;
}

double accuracy_of(const torch::Tensor& logits, const torch::Tensor& gold) {
  if (gold.numel() == 0) return -1;
  return logits.argmax(1).eq(gold).to(torch::kFloat64).mean().item<double>();
}

// Label scores [N, C] of the global predictor for every image of a split (one ranking pass: the heads learn from
// label log-likelihoods, whatever eval.mode and eval.inference say of the reported evaluations).
torch::Tensor label_scores_of(EmotionModel& model, ImageFeatures& images, const std::vector<EmotionSample>& samples,
                              EvalOptions eval) {
  eval.mode = EvalMode::Rank, eval.inference = Inference::Plain;
  auto e = evaluate_emotions(model, images, samples, eval);
  std::vector<torch::Tensor> rows;
  for (const auto& p : e.predictions) rows.push_back(torch::tensor(p.scores));
  return torch::stack(rows);
}

// Data parallel over users (issue 30): user k is fitted by rank k mod size. `fit(k)` fills row k of each tensor in
// `rows` on the rank that owns user k; the rows other ranks own stay zero, so one sum over the ranks gives every
// rank every user's result.
bool owns_user(size_t k) { return static_cast<int>(k % static_cast<size_t>(world().size())) == world().rank(); }
void share_user_rows(std::vector<torch::Tensor*> rows, const std::string& what) {
  for (auto* t : rows) world().all_reduce_sum(*t, "personalize: gathering the " + what);
}

class PersonalizeRecipe {
 public:
  explicit PersonalizeRecipe(EmotuneConfig config) : c_(std::move(config)), run_(c_.run_dir) {}
  PersonalizeResult run() {
    setup();
    if (wants(c_.personal.methods, "head")) fit_heads();
    if (wants(c_.personal.methods, "prompt")) evaluate_prompts(fit_prompts());
    return save();
  }

 private:
  void setup();
  void open_store();
  void fit_heads();
  std::vector<torch::Tensor> fit_prompts();
  void evaluate_prompts(const std::vector<torch::Tensor>& prompts);
  PersonalizeResult save();

  EmotuneConfig c_;
  RunDir run_;
  std::string global_ckpt_;
  std::unique_ptr<FrozenVLM> vlm_;
  EmotionModel model_;
  std::unique_ptr<ImageFeatures> train_, test_;
  std::vector<EmotionSample> train_samples_, test_samples_;
  std::vector<UserImages> users_;
  torch::Tensor z_train_, z_test_, scores_train_, scores_test_;
  std::vector<UserResult> results_;
  std::string store_path_;
  NamedTensors store_;
  Metadata meta_;
};

void PersonalizeRecipe::setup() {
  const auto& pc = c_.personal;
  if (c_.eval.mode != EvalMode::Rank) raise("config: personalize scores labels by ranking; set eval.mode: rank");
  global_ckpt_ = pc.global_checkpoint;
  if (global_ckpt_.empty()) {  // stages 1 (when aspects are on) and 2, trained now
    EmotuneConfig global = c_;
    if (global.masp.use_aspects) global.masp.aspects_checkpoint = ensure_aspects(c_, run_.sub("aspects"), "personalize");
    global_ckpt_ = train_prompt_into(global, run_.sub("global"), "personalize", "the global soft prompt");
  }
  vlm_ = open_bundle(c_);
  model_ = make_emotion_model(*vlm_, c_, global_ckpt_, parts_in_checkpoint(global_ckpt_));
  if (!model_.soft_prompt.defined()) raise(global_ckpt_, ": has no soft prompt; personal.global_checkpoint must be a stage-2 checkpoint");
  train_ = open_split(*vlm_, c_, c_.data.train_split, "data.train_split");
  test_ = open_split(*vlm_, c_, c_.data.eval_split, "data.eval_split");
  train_samples_ = make_emotion_samples(*train_, c_.data.labels);
  test_samples_ = make_emotion_samples(*test_, c_.data.labels);
  users_ = group_images_by_user(*train_, *test_, pc.users, pc.holdout_fraction, static_cast<uint64_t>(c_.seed));
  if (users_.empty()) raise(c_.data.manifest, ": no users to personalise");
  std::fprintf(stderr, "personalize: %zu users, global checkpoint %s\n", users_.size(), global_ckpt_.c_str());

  z_train_ = aspect_tokens_of_split(model_, *train_);
  z_test_ = aspect_tokens_of_split(model_, *test_);
  std::fprintf(stderr, "== label scores of the global prompt\n");
  scores_train_ = label_scores_of(model_, *train_, train_samples_, eval_options(c_));
  scores_test_ = label_scores_of(model_, *test_, test_samples_, eval_options(c_));

  const auto facts = read_world_facts(c_.data.manifest);
  results_.resize(users_.size());
  for (size_t k = 0; k < users_.size(); ++k) {
    auto& r = results_[k];
    const auto& u = users_[k];
    r.user = u.user;
    r.fit = static_cast<int64_t>(u.fit.size()), r.holdout = static_cast<int64_t>(u.holdout.size()), r.test = static_cast<int64_t>(u.test.size());
    r.accuracy.push_back({"global prompt", accuracy_of(rows_of(scores_test_, u.test), labels_of(test_samples_, u.test))});
    if (auto limits = facts.user_limits(u.user, c_.data.eval_split)) r.bayes = limits->bayes, r.global_rule = limits->global_rule;
  }
  open_store();
}

// run_dir/personal.safetensors; on resume, what an earlier run of the same global checkpoint fitted.
void PersonalizeRecipe::open_store() {
  store_path_ = run_.file("personal.safetensors");
  meta_ = {{"format", "emotune-personal-1"}, {"global_checkpoint", global_ckpt_}, {"bundle", vlm_->spec().name}};
  // Every rank reads the store (run_dir shared, checked) and must find the same users in it: the rounds of
  // fit_prompts are decided from it on every rank.
  if (world().size() > 1) {
    require_shared_directory(world(), run_.path());
    const std::string stored = fs::exists(store_path_) ? sha256_of_file(store_path_) : "none";
    require_same_on_every_rank(world(), {{"personalisation store " + store_path_, stored}});
  }
  if (!fs::exists(store_path_)) return;
  auto old = load_safetensors(store_path_);
  if (old.metadata["global_checkpoint"] != global_ckpt_)
    raise(store_path_, ": was fitted from global checkpoint '", old.metadata["global_checkpoint"], "', not '", global_ckpt_,
          "'; use another run_dir or delete the file");
  store_ = std::move(old.tensors);
}

void PersonalizeRecipe::fit_heads() {
  const auto& pc = c_.personal;
  const size_t n_users = users_.size();
  // Eq.: W_u = W_g + ΔW_u (personal_head.h); features standardised on the pooled fitted images.
  auto x_train_raw = head_features(pc.head_inputs, z_train_, scores_train_);
  auto all_fit = concat_all(users_, &UserImages::fit), all_hold = concat_all(users_, &UserImages::holdout);
  auto scaler = FeatureScaler::fit(rows_of(x_train_raw, all_fit));
  auto x_train = scaler.apply(x_train_raw);
  auto x_test = scaler.apply(head_features(pc.head_inputs, z_test_, scores_test_));
  HeadFitOptions global_opts{pc.head_global_steps, pc.head_lr, pc.head_weight_decay, pc.eval_every, pc.patience};
  auto global = fit_head(zero_head(static_cast<int64_t>(c_.data.labels.size()), x_train.size(1)), rows_of(x_train, all_fit),
                         labels_of(train_samples_, all_fit), rows_of(x_train, all_hold), labels_of(train_samples_, all_hold), global_opts);
  std::fprintf(stderr, "global head: %lld features, %lld steps, held-out loss %.4f\n", static_cast<long long>(x_train.size(1)),
               static_cast<long long>(global.steps), global.holdout_loss);
  store_["head/global/weight"] = global.head.weight, store_["head/global/bias"] = global.head.bias;
  store_["head/feature_mean"] = scaler.mean, store_["head/feature_std"] = scaler.std;
  meta_["head_inputs"] = nlohmann::json(pc.head_inputs).dump();
  HeadFitOptions user_opts{pc.head_steps, pc.head_lr, pc.head_l2, pc.eval_every, pc.patience};
  const auto n = static_cast<int64_t>(n_users);
  auto weights = torch::zeros({n, global.head.weight.size(0), global.head.weight.size(1)}, global.head.weight.options());
  auto biases = torch::zeros({n, global.head.bias.size(0)}, global.head.bias.options());
  auto steps = torch::zeros({n}, torch::kInt64);
  for (size_t k = 0; k < n_users; ++k) {
    if (!owns_user(k)) continue;
    const auto& u = users_[k];
    auto fit = fit_head(global.head, rows_of(x_train, u.fit), labels_of(train_samples_, u.fit), rows_of(x_train, u.holdout),
                        labels_of(train_samples_, u.holdout), user_opts);
    weights[static_cast<int64_t>(k)].copy_(fit.head.weight), biases[static_cast<int64_t>(k)].copy_(fit.head.bias);
    steps[static_cast<int64_t>(k)] = fit.steps;
  }
  share_user_rows({&weights, &biases, &steps}, "users' heads");
  std::vector<LinearHead> heads;
  for (size_t k = 0; k < n_users; ++k) {
    const auto i = static_cast<int64_t>(k);
    heads.push_back({weights[i].clone(), biases[i].clone()});
    store_["head/" + users_[k].user + "/weight"] = heads.back().weight, store_["head/" + users_[k].user + "/bias"] = heads.back().bias;
    results_[k].head_steps = steps[i].item<int64_t>();
  }
  for (size_t k = 0; k < n_users; ++k) {
    const auto& u = users_[k];
    auto x = rows_of(x_test, u.test);
    auto y = labels_of(test_samples_, u.test);
    results_[k].accuracy.push_back({"global head", accuracy_of(global.head.logits(x), y)});
    results_[k].accuracy.push_back({"user head", accuracy_of(heads[k].logits(x), y)});
    results_[k].accuracy.push_back({"cross-user head", accuracy_of(heads[(k + 1) % n_users].logits(x), y)});
  }
  if (world().is_main()) save_safetensors(store_path_, store_, meta_);
}

std::vector<torch::Tensor> PersonalizeRecipe::fit_prompts() {
  const auto& pc = c_.personal;
  PromptData data{model_, *train_, z_train_, train_samples_};
  PromptFitOptions opts{pc.prompt_steps, c_.train.batch_size, pc.prompt_lr, pc.prompt_l2, pc.eval_every, pc.patience,
                        c_.train.loss_reduction};
  std::vector<torch::Tensor> prompts(users_.size());
  auto stored = [&](size_t k) { return store_.count("prompt/" + users_[k].user) && store_.count("prompt_steps/" + users_[k].user); };
  // In rounds of one user per rank; the store is saved after every round, so an interrupted run resumes there.
  const size_t ranks = static_cast<size_t>(world().size());
  for (size_t first = 0; first < users_.size(); first += ranks) {
    const size_t last = std::min(users_.size(), first + ranks);
    auto round = torch::zeros({static_cast<int64_t>(last - first), model_.soft_prompt.size(0), model_.soft_prompt.size(1)},
                              model_.soft_prompt.options());
    auto steps = torch::zeros({static_cast<int64_t>(last - first)}, torch::kInt64);
    bool fitted = false;
    for (size_t k = first; k < last; ++k) {
      if (stored(k)) continue;
      fitted = true;
      if (!owns_user(k)) continue;
      const auto& u = users_[k];
      auto t0 = std::chrono::steady_clock::now();
      auto fit = fit_user_prompt(data, model_.soft_prompt, u.fit, u.holdout, opts);  // one rank's own small fit
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "user %s: prompt fitted on %zu images, kept step %lld, held-out loss %.4f (%.1f s)\n", u.user.c_str(),
                   u.fit.size(), static_cast<long long>(fit.steps), fit.holdout_loss, secs);
      round[static_cast<int64_t>(k - first)].copy_(fit.prompt), steps[static_cast<int64_t>(k - first)] = fit.steps;
    }
    if (fitted) share_user_rows({&round, &steps}, "users' prompts");
    for (size_t k = first; k < last; ++k) {
      const auto& u = users_[k];
      const std::string key = "prompt/" + u.user, steps_key = "prompt_steps/" + u.user;
      if (stored(k)) {
        std::fprintf(stderr, "user %s: prompt from %s (resumed)\n", u.user.c_str(), store_path_.c_str());
      } else {
        store_[key] = round[static_cast<int64_t>(k - first)].clone();
        store_[steps_key] = torch::tensor({steps[static_cast<int64_t>(k - first)].item<int64_t>()}, torch::kInt64);
      }
      prompts[k] = store_[key];
      results_[k].prompt_steps = store_[steps_key].item<int64_t>();
    }
    if (fitted && world().is_main()) save_safetensors(store_path_, store_, meta_);
  }
  return prompts;
}

// One evaluation pass each for own and cross-user prompts: batches mix users, each sequence with its prompt.
void PersonalizeRecipe::evaluate_prompts(const std::vector<torch::Tensor>& prompts) {
  const size_t n_users = users_.size();
  std::vector<EmotionSample> samples;
  std::vector<torch::Tensor> own, cross;
  std::vector<size_t> user_of;
  for (size_t k = 0; k < n_users; ++k)
    for (auto i : users_[k].test) {
      samples.push_back(test_samples_[static_cast<size_t>(i)]);
      own.push_back(prompts[k]), cross.push_back(prompts[(k + 1) % n_users]), user_of.push_back(k);
    }
  for (const auto& [name, which] : {std::pair<std::string, std::vector<torch::Tensor>*>{"user prompt", &own}, {"cross-user prompt", &cross}}) {
    std::fprintf(stderr, "== %s\n", name.c_str());
    auto e = evaluate_emotions(model_, *test_, samples, eval_options(c_), *which);
    std::vector<int64_t> correct(n_users, 0);
    for (size_t i = 0; i < samples.size(); ++i) correct[user_of[i]] += e.predictions[i].predicted == e.predictions[i].gold;
    for (size_t k = 0; k < n_users; ++k)
      results_[k].accuracy.push_back(
          {name, users_[k].test.empty() ? -1 : static_cast<double>(correct[k]) / static_cast<double>(users_[k].test.size())});
  }
}

PersonalizeResult PersonalizeRecipe::save() {
  auto result = summarize_personalization(std::move(results_), c_.data.eval_split);
  if (!world().is_main()) return result;  // rank 0 alone writes
  const RunDir out = run_.sub("personalize");
  ensure_directory(out.path());
  result.summary["store"] = store_path_;
  result.summary["global_checkpoint"] = global_ckpt_;
  write_file_atomic(out.file("report.md"), result.report_markdown);
  write_file_atomic(out.file("summary.json"), result.summary.dump(2) + "\n");
  return result;
}

}  // namespace

PersonalizeResult run_personalize(const EmotuneConfig& config) { return PersonalizeRecipe(config).run(); }

PersonalizeResult run_personalize(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  return run_personalize(load_config(files, overrides));
}

}  // namespace emotune
