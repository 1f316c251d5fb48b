#include "personal/personalize.h"

#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "config/config.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/evaluate.h"
#include "io/safetensors.h"
#include "masp/stages.h"
#include "personal/personal_head.h"
#include "personal/user_images.h"
#include "personal/user_prompt.h"
#include "synth/affect_world.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

bool wants(const std::vector<std::string>& methods, const std::string& m) {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

// The global stage-2 checkpoint: given, or trained now (stage 1 too when aspects are on and none is given).
std::string ensure_global_checkpoint(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                                     const EmotuneConfig& base) {
  if (!base.personal.global_checkpoint.empty()) return base.personal.global_checkpoint;
  std::vector<std::string> shared;
  if (base.masp.use_aspects && base.masp.aspects_checkpoint.empty()) {
    const auto dir = (fs::path(base.run_dir) / "aspects").string();
    std::fprintf(stderr, "== personalize: stage 1 (aspect modules) -> %s\n", dir.c_str());
    train_aspects(load_config(files, with_entries(overrides, {"run_dir=" + dir})));
    shared.push_back("masp.aspects_checkpoint=" + (fs::path(dir) / "checkpoint.safetensors").string());
  }
  const auto dir = (fs::path(base.run_dir) / "global").string();
  std::fprintf(stderr, "== personalize: stage 2 (global soft prompt) -> %s\n", dir.c_str());
  train_prompt(load_config(files, with_entries(with_entries(overrides, shared), {"run_dir=" + dir})));
  return (fs::path(dir) / "checkpoint.safetensors").string();
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

// Label scores [N, C] of the global predictor for every image of a split (one ranking pass).
torch::Tensor label_scores_of(EmotionModel& model, ImageFeatures& images, const std::vector<EmotionSample>& samples,
                              const EvalOptions& eval) {
  auto e = evaluate_emotions(model, images, samples, eval);
  std::vector<torch::Tensor> rows;
  for (const auto& p : e.predictions) rows.push_back(torch::tensor(p.scores));
  return torch::stack(rows);
}

}  // namespace

PersonalizeResult run_personalize(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  const EmotuneConfig base = load_config(files, overrides);
  const auto& pc = base.personal;
  if (base.eval.mode != "rank") raise("config: personalize scores labels by ranking; set eval.mode: rank");
  const std::string global_ckpt = ensure_global_checkpoint(files, overrides, base);
  const EmotuneConfig c = base;
  auto vlm = open_bundle(c);
  auto model = make_emotion_model(*vlm, c, global_ckpt, parts_in_checkpoint(global_ckpt));
  if (!model.soft_prompt.defined()) raise(global_ckpt, ": has no soft prompt; personal.global_checkpoint must be a stage-2 checkpoint");
  auto train = open_split(*vlm, c, c.data.train_split);
  auto test = open_split(*vlm, c, c.data.eval_split);
  auto train_samples = make_emotion_samples(*train, c.data.labels);
  auto test_samples = make_emotion_samples(*test, c.data.labels);
  auto users = group_images_by_user(*train, *test, pc.users, pc.holdout_fraction, static_cast<uint64_t>(c.seed));
  if (users.empty()) raise(c.data.manifest, ": no users to personalise");
  const auto n_users = users.size();
  std::fprintf(stderr, "personalize: %zu users, global checkpoint %s\n", n_users, global_ckpt.c_str());

  auto z_train = aspect_tokens_of_split(model, *train);
  auto z_test = aspect_tokens_of_split(model, *test);
  EvalOptions eval{"rank", c.eval.batch_size, c.eval.max_new_tokens, true};
  std::fprintf(stderr, "== label scores of the global prompt\n");
  auto scores_train = label_scores_of(model, *train, train_samples, eval);
  auto scores_test = label_scores_of(model, *test, test_samples, eval);

  std::vector<UserResult> results(n_users);
  auto world = read_world_info(c.data.manifest);
  for (size_t k = 0; k < n_users; ++k) {
    auto& r = results[k];
    const auto& u = users[k];
    r.user = u.user;
    r.fit = static_cast<int64_t>(u.fit.size()), r.holdout = static_cast<int64_t>(u.holdout.size()), r.test = static_cast<int64_t>(u.test.size());
    auto y_test = labels_of(test_samples, u.test);
    r.accuracy.push_back({"global prompt", accuracy_of(rows_of(scores_test, u.test), y_test)});
    if (world.is_object() && world.contains("users") && world["users"]["per_user"].contains(u.user)) {
      const auto& s = world["users"]["per_user"][u.user]["splits"];
      if (s.contains(c.data.eval_split)) r.bayes = s[c.data.eval_split]["bayes_accuracy"], r.global_rule = s[c.data.eval_split]["global_rule_accuracy"];
    }
  }

  const std::string store_path = (fs::path(c.run_dir) / "personal.safetensors").string();
  NamedTensors store;
  Metadata meta{{"format", "emotune-personal-1"}, {"global_checkpoint", global_ckpt}, {"bundle", vlm->spec().name}};
  if (fs::exists(store_path)) {  // resume: keep what an earlier run of the same setting fitted
    auto old = load_safetensors(store_path);
    if (old.metadata["global_checkpoint"] != global_ckpt)
      raise(store_path, ": was fitted from global checkpoint '", old.metadata["global_checkpoint"], "', not '", global_ckpt,
            "'; use another run_dir or delete the file");
    store = std::move(old.tensors);
  }

  if (wants(pc.methods, "head")) {
    // Eq.: W_u = W_g + ΔW_u (personal_head.h); features standardised on the pooled fitted images.
    auto x_train_raw = head_features(pc.head_inputs, z_train, scores_train);
    auto all_fit = concat_all(users, &UserImages::fit), all_hold = concat_all(users, &UserImages::holdout);
    auto scaler = FeatureScaler::fit(rows_of(x_train_raw, all_fit));
    auto x_train = scaler.apply(x_train_raw);
    auto x_test = scaler.apply(head_features(pc.head_inputs, z_test, scores_test));
    HeadFitOptions global_opts{pc.head_global_steps, pc.head_lr, pc.head_weight_decay, pc.eval_every, pc.patience};
    auto global = fit_head(zero_head(static_cast<int64_t>(c.data.labels.size()), x_train.size(1)), rows_of(x_train, all_fit),
                           labels_of(train_samples, all_fit), rows_of(x_train, all_hold), labels_of(train_samples, all_hold), global_opts);
    std::fprintf(stderr, "global head: %lld features, %lld steps, held-out loss %.4f\n", static_cast<long long>(x_train.size(1)),
                 static_cast<long long>(global.steps), global.holdout_loss);
    store["head/global/weight"] = global.head.weight, store["head/global/bias"] = global.head.bias;
    store["head/feature_mean"] = scaler.mean, store["head/feature_std"] = scaler.std;
    meta["head_inputs"] = nlohmann::json(pc.head_inputs).dump();
    HeadFitOptions user_opts{pc.head_steps, pc.head_lr, pc.head_l2, pc.eval_every, pc.patience};
    std::vector<LinearHead> heads;
    for (size_t k = 0; k < n_users; ++k) {
      const auto& u = users[k];
      auto fit = fit_head(global.head, rows_of(x_train, u.fit), labels_of(train_samples, u.fit), rows_of(x_train, u.holdout),
                          labels_of(train_samples, u.holdout), user_opts);
      store["head/" + u.user + "/weight"] = fit.head.weight, store["head/" + u.user + "/bias"] = fit.head.bias;
      results[k].head_steps = fit.steps;
      heads.push_back(fit.head);
    }
    for (size_t k = 0; k < n_users; ++k) {
      const auto& u = users[k];
      auto x = rows_of(x_test, u.test);
      auto y = labels_of(test_samples, u.test);
      results[k].accuracy.push_back({"global head", accuracy_of(global.head.logits(x), y)});
      results[k].accuracy.push_back({"user head", accuracy_of(heads[k].logits(x), y)});
      results[k].accuracy.push_back({"cross-user head", accuracy_of(heads[(k + 1) % n_users].logits(x), y)});
    }
    save_safetensors(store_path, store, meta);
  }

  if (wants(pc.methods, "prompt")) {
    PromptData data{model, *train, z_train, train_samples};
    PromptFitOptions opts{pc.prompt_steps, c.train.batch_size, pc.prompt_lr, pc.prompt_l2, pc.eval_every, pc.patience};
    std::vector<torch::Tensor> prompts(n_users);
    for (size_t k = 0; k < n_users; ++k) {
      const auto& u = users[k];
      const std::string key = "prompt/" + u.user;
      const std::string steps_key = "prompt_steps/" + u.user;
      if (store.count(key) && store.count(steps_key)) {
        prompts[k] = store[key];
        results[k].prompt_steps = store[steps_key].item<int64_t>();
        std::fprintf(stderr, "user %s: prompt from %s (resumed)\n", u.user.c_str(), store_path.c_str());
        continue;
      }
      auto t0 = std::chrono::steady_clock::now();
      auto fit = fit_user_prompt(data, model.soft_prompt, u.fit, u.holdout, opts);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::fprintf(stderr, "user %s: prompt fitted on %zu images, kept step %lld, held-out loss %.4f (%.1f s)\n", u.user.c_str(),
                   u.fit.size(), static_cast<long long>(fit.steps), fit.holdout_loss, secs);
      prompts[k] = fit.prompt;
      results[k].prompt_steps = fit.steps;
      store[key] = fit.prompt;
      store[steps_key] = torch::tensor({fit.steps}, torch::kInt64);
      save_safetensors(store_path, store, meta);  // after every user: an interrupted run resumes here
    }
    // One evaluation pass each for own and cross-user prompts: batches mix users, each sequence with its prompt.
    std::vector<EmotionSample> samples;
    std::vector<torch::Tensor> own, cross;
    std::vector<size_t> user_of;
    for (size_t k = 0; k < n_users; ++k)
      for (auto i : users[k].test) {
        samples.push_back(test_samples[static_cast<size_t>(i)]);
        own.push_back(prompts[k]), cross.push_back(prompts[(k + 1) % n_users]), user_of.push_back(k);
      }
    for (const auto& [name, which] : {std::pair<std::string, std::vector<torch::Tensor>*>{"user prompt", &own}, {"cross-user prompt", &cross}}) {
      std::fprintf(stderr, "== %s\n", name.c_str());
      auto e = evaluate_emotions(model, *test, samples, eval, *which);
      std::vector<int64_t> correct(n_users, 0);
      for (size_t i = 0; i < samples.size(); ++i) correct[user_of[i]] += e.predictions[i].predicted == e.predictions[i].gold;
      for (size_t k = 0; k < n_users; ++k)
        results[k].accuracy.push_back({name, users[k].test.empty() ? -1 : static_cast<double>(correct[k]) / static_cast<double>(users[k].test.size())});
    }
  }

  auto result = summarize_personalization(std::move(results), c.data.eval_split);
  const auto out = fs::path(c.run_dir) / "personalize";
  ensure_directory(out.string());
  result.summary["store"] = store_path;
  result.summary["global_checkpoint"] = global_ckpt;
  write_file_atomic((out / "report.md").string(), result.report_markdown);
  write_file_atomic((out / "summary.json").string(), result.summary.dump(2) + "\n");
  return result;
}

}  // namespace emotune
