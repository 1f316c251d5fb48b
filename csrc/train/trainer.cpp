#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/rng.h"
#include "io/checkpoint.h"
#include "train/optimizer.h"
#include "train/run_dir.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

// Keeps the metrics lines of steps <= `step` (those a resumed run will not redo).
void truncate_metrics(const std::string& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.contains("step") && j["step"].get<int64_t>() <= step) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

// Loads parameters and optimizer state from the run's resume checkpoint; returns the step it was taken at.
int64_t resume_from(const RunDir& dir, TrainTask& task, const TrainerOptions& o, NamedTensors& params,
                    torch::optim::Optimizer& optimizer, int64_t total) {
  auto ckpt = load_checkpoint(dir.resume());
  if (ckpt.info.stage != task.stage())
    raise(dir.resume(), ": a '", ckpt.info.stage, "' run cannot resume as stage '", task.stage(), "' (use another run_dir)");
  if (ckpt.info.bundle != o.bundle_name) raise(dir.resume(), ": trained on bundle '", ckpt.info.bundle, "', now '", o.bundle_name, "'");
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : params) {
    auto it = ckpt.tensors.find(name);
    if (it == ckpt.tensors.end()) raise(dir.resume(), ": missing tensor '", name, "'");
    if (it->second.sizes() != p.sizes()) raise(dir.resume(), ": tensor '", name, "' has shape ", it->second.sizes(), ", expected ", p.sizes());
    p.copy_(it->second);
  }
  import_optimizer_state(optimizer, params, ckpt.tensors, dir.resume());
  truncate_metrics(dir.metrics(), ckpt.info.step);
  std::fprintf(stderr, "resuming %s from step %lld of %lld (%s)\n", task.stage().c_str(), static_cast<long long>(ckpt.info.step),
               static_cast<long long>(total), dir.resume().c_str());
  return ckpt.info.step;
}

// The held-out loss (TrainerOptions::validation) at every epoch's end, every train.validate_every steps and
// at the last step; each is a metrics.jsonl line {"step", "epoch", "val_loss", "val_samples"}.
class Validation {
 public:
  Validation(TrainTask* task, const TrainConfig& c, int64_t steps_per_epoch, int64_t total)
      : task_(task), batch_size_(c.batch_size), every_(c.validate_every), steps_per_epoch_(steps_per_epoch), total_(total) {
    if (task_ && task_->num_samples() == 0) raise("stage '", task_->stage(), "': the validation split has no samples");
    if (task_) all_.resize(static_cast<size_t>(task_->num_samples())), std::iota(all_.begin(), all_.end(), 0);
  }
  // Whether validation runs after optimizer step `done` (1-based).
  bool due(int64_t done) const {
    return task_ && (done % steps_per_epoch_ == 0 || done == total_ || (every_ > 0 && done % every_ == 0));
  }
  // Runs it, appends the line, keeps the best in `result`; returns the text the progress line shows.
  std::string run(int64_t done, int64_t epoch, std::ostream& metrics, TrainResult& result) {
    const double loss = mean_loss(*task_, all_, batch_size_);
    if (!std::isfinite(loss)) raise("stage '", task_->stage(), "': the validation loss became ", loss, " at step ", done);
    nlohmann::json line = {{"stage", task_->stage()}, {"step", done}, {"epoch", epoch}, {"val_loss", loss},
                           {"val_samples", all_.size()}};
    metrics << line.dump() << "\n" << std::flush;
    if (result.best_validation_loss < 0 || loss < result.best_validation_loss)
      result.best_validation_loss = loss, result.best_validation_step = done;
    char text[48];
    std::snprintf(text, sizeof text, " val %.4f", loss);
    return text;
  }

 private:
  TrainTask* task_;
  int64_t batch_size_, every_, steps_per_epoch_, total_;
  std::vector<int64_t> all_;
};

}  // namespace

std::vector<int64_t> epoch_order(int64_t samples, bool shuffle, uint64_t seed, int64_t epoch) {
  if (shuffle) return seeded_permutation(samples, seed, static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(static_cast<size_t>(samples));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

double accumulate_gradients(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size, int64_t epoch) {
  // Accumulation: each micro-batch's sum backward, then every gradient divided by the step's count, so the
  // step's gradient is that of Σ sums / Σ counts however the samples are split (issue 34, finding 1).
  const auto n = static_cast<int64_t>(samples.size());
  double sum = 0.0, count = 0.0;
  for (int64_t lo = 0; lo < n; lo += batch_size) {
    std::vector<int64_t> batch(samples.begin() + lo, samples.begin() + std::min(n, lo + batch_size));
    auto loss = task.loss_sum(batch, epoch);
    loss.sum.backward();
    sum += loss.sum.item<double>();
    count += loss.count;
  }
  if (count <= 0) raise("stage '", task.stage(), "': a step with nothing to score");
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : task.trainable())
      if (p.grad().defined()) p.mutable_grad().div_(count);
  }
  if (auto r = task.regularizer(); r.defined()) r.backward();
  return sum / count;
}

double mean_loss(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(samples.size());
  double sum = 0.0, count = 0.0;
  for (int64_t lo = 0; lo < n; lo += batch_size) {
    std::vector<int64_t> batch(samples.begin() + lo, samples.begin() + std::min(n, lo + batch_size));
    auto loss = task.loss_sum(batch, -1);
    sum += loss.sum.item<double>();
    count += loss.count;
  }
  return count > 0 ? sum / count : 0.0;
}

double optimizer_step(torch::optim::Optimizer& optimizer, NamedTensors& params, const TrainConfig& c, int64_t step, int64_t total) {
  std::vector<torch::Tensor> with_grad;
  for (auto& [name, p] : params)
    if (p.grad().defined()) with_grad.push_back(p);
  if (c.max_grad_norm > 0 && !with_grad.empty()) torch::nn::utils::clip_grad_norm_(with_grad, c.max_grad_norm);
  const double lr = learning_rate_at(c, step, total);
  set_learning_rate(optimizer, lr);
  optimizer.step();
  // Undefined (not zero) gradients: a tensor no sample of the next step reaches is not updated at all,
  // not even by momentum or weight decay (paper §Stage 1: only the sampled aspect's module is updated).
  for (auto& [name, p] : params) p.mutable_grad() = torch::Tensor();
  return lr;
}

TrainResult run_training(TrainTask& task, const TrainerOptions& o) {
  const auto& c = o.train;
  const RunDir dir(o.run_dir);
  ensure_directory(dir.path());
  if (int n = remove_orphaned_temporaries(dir.path()); n > 0)  // left by a run killed while writing (issue 34, 9)
    std::fprintf(stderr, "%s: removed %d temporary file(s) of a killed earlier run\n", dir.path().c_str(), n);

  NamedTensors params = task.trainable();
  for (auto& [name, p] : params) p.set_requires_grad(true);
  auto optimizer = make_optimizer(c, params);

  const int64_t n = task.num_samples();
  if (n == 0) raise("stage '", task.stage(), "' has no training samples");
  const int64_t per_step = c.batch_size * c.grad_accum;
  const int64_t steps_per_epoch = (n + per_step - 1) / per_step;
  const int64_t total = c.max_steps > 0 ? c.max_steps : c.epochs * steps_per_epoch;

  int64_t start = 0;
  if (c.resume && fs::exists(dir.resume())) start = resume_from(dir, task, o, params, *optimizer, total);
  else write_file_atomic(dir.metrics(), "");

  auto save = [&](int64_t step) {
    CheckpointInfo info{task.stage(), o.bundle_name, step, o.config_yaml};
    NamedTensors resume = params;
    resume.merge(export_optimizer_state(*optimizer, params));
    save_checkpoint(dir.resume(), resume, info);
    save_checkpoint(dir.checkpoint(), task.checkpoint_tensors(), info);
  };

  std::ofstream metrics(dir.metrics(), std::ios::app);
  ProgressBar bar(task.stage(), total, start);
  TrainResult result;
  result.total_steps = total;
  result.checkpoint = dir.checkpoint();
  Validation validation(o.validation, c, steps_per_epoch, total);
  std::string val_text;  // the latest validation loss, shown on the progress line
  std::vector<int64_t> order;
  int64_t order_epoch = -1, samples_seen = 0;
  const auto begin = std::chrono::steady_clock::now();
  int64_t step = start;
  for (; step < total; ++step) {
    const int64_t epoch = step / steps_per_epoch, k = step % steps_per_epoch;
    if (epoch != order_epoch) order = epoch_order(n, c.shuffle, o.seed, order_epoch = epoch);
    const int64_t lo = k * per_step, hi = std::min(n, lo + per_step);
    const auto step_begin = std::chrono::steady_clock::now();
    const double step_loss = accumulate_gradients(task, {order.begin() + lo, order.begin() + hi}, c.batch_size, epoch);
    if (!std::isfinite(step_loss))
      raise("stage '", task.stage(), "': the loss became ", step_loss, " at step ", step + 1, " (lower train.lr?)");
    const double lr = optimizer_step(*optimizer, params, c, step, total);

    samples_seen += hi - lo;
    const auto now = std::chrono::steady_clock::now();
    double step_s = std::chrono::duration<double>(now - step_begin).count();
    double elapsed = std::chrono::duration<double>(now - begin).count();
    nlohmann::json line = {{"stage", task.stage()}, {"step", step + 1}, {"epoch", epoch}, {"loss", step_loss},
                           {"lr", lr}, {"samples", hi - lo}, {"samples_per_s", (hi - lo) / std::max(step_s, 1e-9)},
                           {"elapsed_s", elapsed}};
    metrics << line.dump() << "\n" << std::flush;
    if (validation.due(step + 1)) val_text = validation.run(step + 1, epoch, metrics, result);
    char extra[64];
    std::snprintf(extra, sizeof extra, "loss %.4f%s", step_loss, val_text.c_str());
    bar.update(step + 1, samples_seen, extra);
    result.last_loss = step_loss;
    result.samples_per_second = samples_seen / std::max(elapsed, 1e-9);

    const bool stop_now = c.stop_after_steps > 0 && step + 1 - start >= c.stop_after_steps;
    if ((step + 1) % std::max<int64_t>(1, c.checkpoint_every) == 0 || step + 1 == total || stop_now) save(step + 1);
    if (stop_now) {
      ++step;
      break;
    }
  }
  if (start == total && !fs::exists(dir.checkpoint())) save(total);
  bar.finish();
  if (result.best_validation_loss >= 0)
    std::fprintf(stderr, "%s: lowest validation loss %.4f at step %lld\n", task.stage().c_str(), result.best_validation_loss,
                 static_cast<long long>(result.best_validation_step));
  result.step = step;
  result.finished = step >= total;
  return result;
}

}  // namespace emotune
