#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>

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
// Every rank reads it (run_dir is shared: require_shared_directory); only rank 0 truncates metrics.jsonl. A run
// resumes at another world size only at the same global batch (batch_size × grad_accum × ranks), since the steps'
// sample sets are cut from the seeded order by the global batch.
int64_t resume_from(const RunDir& dir, TrainTask& task, const TrainerOptions& o, NamedTensors& params,
                    torch::optim::Optimizer& optimizer, int64_t total, int64_t global_batch, Communicator& group) {
  auto ckpt = load_checkpoint(dir.resume());
  if (ckpt.info.stage != task.stage())
    raise(dir.resume(), ": a '", ckpt.info.stage, "' run cannot resume as stage '", task.stage(), "' (use another run_dir)");
  if (ckpt.info.bundle != o.bundle_name) raise(dir.resume(), ": trained on bundle '", ckpt.info.bundle, "', now '", o.bundle_name, "'");
  if (auto it = ckpt.metadata.find("global_batch"); it != ckpt.metadata.end() && it->second != std::to_string(global_batch))
    raise(dir.resume(), ": trained at a global batch of ", it->second, " samples per step, this run's is ", global_batch,
          " (train.batch_size ", o.train.batch_size, " x train.grad_accum ", o.train.grad_accum, " x ", group.size(),
          " process(es)); resume with the same global batch, e.g. twice the batch size on half the ranks (docs/distributed.md)");
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : params) {
    auto it = ckpt.tensors.find(name);
    if (it == ckpt.tensors.end()) raise(dir.resume(), ": missing tensor '", name, "'");
    if (it->second.sizes() != p.sizes()) raise(dir.resume(), ": tensor '", name, "' has shape ", it->second.sizes(), ", expected ", p.sizes());
    p.copy_(it->second);
  }
  import_optimizer_state(optimizer, params, ckpt.tensors, dir.resume());
  if (!group.is_main()) return ckpt.info.step;
  truncate_metrics(dir.metrics(), ckpt.info.step);
  std::fprintf(stderr, "resuming %s from step %lld of %lld (%s)\n", task.stage().c_str(), static_cast<long long>(ckpt.info.step),
               static_cast<long long>(total), dir.resume().c_str());
  return ckpt.info.step;
}

// The held-out loss (TrainerOptions::validation) at every epoch's end, every train.validate_every steps and
// at the last step; each is a metrics.jsonl line {"step", "epoch", "val_loss", "val_samples"}.
class Validation {
 public:
  // Each rank scores its block of the held-out samples; the sums and counts are reduced (mean_loss).
  Validation(TrainTask* task, const TrainConfig& c, int64_t steps_per_epoch, int64_t total, Communicator& group)
      : task_(task), group_(group), batch_size_(c.batch_size), every_(c.validate_every), steps_per_epoch_(steps_per_epoch),
        total_(total) {
    if (task_ && task_->num_samples() == 0) raise("stage '", task_->stage(), "': the validation split has no samples");
    if (!task_) return;
    const int64_t n = task_->num_samples(), block = (n + group.size() - 1) / group.size();
    for (int64_t i = std::min(n, block * group.rank()); i < std::min(n, block * (group.rank() + 1)); ++i) mine_.push_back(i);
    total_samples_ = n;
  }
  // Whether validation runs after optimizer step `done` (1-based).
  bool due(int64_t done) const {
    return task_ && (done % steps_per_epoch_ == 0 || done == total_ || (every_ > 0 && done % every_ == 0));
  }
  // Runs it, appends the line, keeps the best in `result`; returns the text the progress line shows.
  std::string run(int64_t done, int64_t epoch, std::ostream* metrics, TrainResult& result) {
    const double loss = mean_loss(*task_, mine_, batch_size_, group_);
    if (!std::isfinite(loss)) raise("stage '", task_->stage(), "': the validation loss became ", loss, " at step ", done);
    nlohmann::json line = {{"stage", task_->stage()}, {"step", done}, {"epoch", epoch}, {"val_loss", loss},
                           {"val_samples", total_samples_}};
    if (metrics) *metrics << line.dump() << "\n" << std::flush;
    if (result.best_validation_loss < 0 || loss < result.best_validation_loss)
      result.best_validation_loss = loss, result.best_validation_step = done;
    char text[48];
    std::snprintf(text, sizeof text, " val %.4f", loss);
    return text;
  }

 private:
  TrainTask* task_;
  Communicator& group_;
  int64_t batch_size_, every_, steps_per_epoch_, total_, total_samples_ = 0;
  std::vector<int64_t> mine_;  // this rank's held-out samples
};

// Rank 0 makes the run directory and clears what a killed run left; every rank checks that it runs what the others
// run and sees the directory rank 0 writes.
void prepare_run(const RunDir& dir, TrainTask& task, const TrainerOptions& o, Communicator& group) {
  if (group.is_main()) {
    ensure_directory(dir.path());
    if (int n = remove_orphaned_temporaries(dir.path()); n > 0)  // left by a run killed while writing (issue 34, 9)
      std::fprintf(stderr, "%s: removed %d temporary file(s) of a killed earlier run\n", dir.path().c_str(), n);
  }
  require_same_on_every_rank(group, {{"stage", task.stage()}, {"bundle", o.bundle_name}, {"config", o.config_yaml},
                                     {"number of training samples", std::to_string(task.num_samples())}});
  require_shared_directory(group, dir.path());
}

// What each optimizer step leaves behind: its metrics.jsonl line (rank 0's file; "" on the other ranks: none), the
// validation when due, the progress line, and the running figures of the result.
class StepLog {
 public:
  StepLog(std::string stage, const std::string& metrics_path, int64_t total, int64_t start, int ranks)
      : stage_(std::move(stage)), bar_(stage_, total, start), ranks_(ranks), begin_(std::chrono::steady_clock::now()) {
    if (!metrics_path.empty()) metrics_.emplace(metrics_path, std::ios::app);
  }
  void record(int64_t done, int64_t epoch, double loss, double lr, int64_t samples,
              std::chrono::steady_clock::time_point step_begin, Validation& validation, TrainResult& result) {
    samples_seen_ += samples;
    const auto now = std::chrono::steady_clock::now();
    const double step_s = std::chrono::duration<double>(now - step_begin).count();
    const double elapsed = std::chrono::duration<double>(now - begin_).count();
    nlohmann::json line = {{"stage", stage_}, {"step", done}, {"epoch", epoch}, {"loss", loss}, {"lr", lr}, {"samples", samples},
                           {"samples_per_s", samples / std::max(step_s, 1e-9)}, {"elapsed_s", elapsed}};
    if (ranks_ > 1) line["ranks"] = ranks_;
    if (metrics_) *metrics_ << line.dump() << "\n" << std::flush;
    if (validation.due(done)) val_text_ = validation.run(done, epoch, metrics_ ? &*metrics_ : nullptr, result);
    char extra[64];
    std::snprintf(extra, sizeof extra, "loss %.4f%s", loss, val_text_.c_str());
    bar_.update(done, samples_seen_, extra);
    result.last_loss = loss;
    result.samples_per_second = samples_seen_ / std::max(elapsed, 1e-9);
  }
  void finish() { bar_.finish(); }

 private:
  std::string stage_;
  ProgressBar bar_;
  int ranks_;
  std::chrono::steady_clock::time_point begin_;
  std::optional<std::ofstream> metrics_;
  std::string val_text_;  // the latest validation loss, shown on the progress line
  int64_t samples_seen_ = 0;
};

}  // namespace

std::vector<int64_t> epoch_order(int64_t samples, bool shuffle, uint64_t seed, int64_t epoch) {
  if (shuffle) return seeded_permutation(samples, seed, static_cast<uint64_t>(epoch));
  std::vector<int64_t> order(static_cast<size_t>(samples));
  std::iota(order.begin(), order.end(), 0);
  return order;
}

namespace {

// The micro-batch sums of `samples` (backward through each when `backward`): Σ sums, Σ counts.
std::pair<double, double> sum_over(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size, int64_t epoch,
                                   bool backward) {
  const auto n = static_cast<int64_t>(samples.size());
  double sum = 0.0, count = 0.0;
  for (int64_t lo = 0; lo < n; lo += batch_size) {
    std::vector<int64_t> batch(samples.begin() + lo, samples.begin() + std::min(n, lo + batch_size));
    auto loss = task.loss_sum(batch, epoch);
    if (backward) loss.sum.backward();
    sum += loss.sum.item<double>();
    count += loss.count;
  }
  return {sum, count};
}

// Data parallelism without DistributedDataParallel: Σ over ranks of the loss sums, the counts and every trainable
// tensor's gradient sum, in one bucket per step (the trained tensors are small). A tensor that got a gradient on any
// rank gets the sum on every rank; one that got none anywhere stays undefined (so it is not updated: stage 1's
// unsampled aspect modules). Every rank then holds the same gradient, steps the same, and stays in sync.
void reduce_over_ranks(NamedTensors& params, double& sum, double& count, Communicator& group, const std::string& stage) {
  auto stats = torch::zeros({2 + static_cast<int64_t>(params.size())}, torch::kFloat64);
  auto acc = stats.accessor<double, 1>();
  acc[0] = sum, acc[1] = count;
  std::vector<torch::Tensor> pieces;
  int64_t i = 2;
  for (auto& [name, p] : params) {
    const bool has = p.grad().defined();
    acc[i++] = has ? 1.0 : 0.0;
    pieces.push_back(has ? p.grad().detach().to(torch::kFloat32).reshape(-1) : torch::zeros({p.numel()}, p.options().dtype(torch::kFloat32)));
  }
  auto bucket = torch::cat(pieces);
  group.all_reduce_sum(stats, "stage '" + stage + "': the loss sums and counts");
  group.all_reduce_sum(bucket, "stage '" + stage + "': the gradient all-reduce");
  sum = acc[0], count = acc[1];
  int64_t offset = 0;
  i = 2;
  for (auto& [name, p] : params) {
    const int64_t numel = p.numel();
    if (acc[i++] > 0) p.mutable_grad() = bucket.slice(0, offset, offset + numel).view(p.sizes()).to(p.dtype());
    else p.mutable_grad() = torch::Tensor();
    offset += numel;
  }
}

}  // namespace

double accumulate_gradients(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size, int64_t epoch,
                            Communicator& group) {
  // Accumulation: each micro-batch's sum backward, then every gradient divided by the step's count, so the
  // step's gradient is that of Σ sums / Σ counts however the samples are split — over micro-batches (issue 34,
  // finding 1) and over ranks (issue 30: sums and counts are reduced, never means).
  auto [sum, count] = sum_over(task, samples, batch_size, epoch, true);
  NamedTensors params = task.trainable();
  if (group.backend() != "none") reduce_over_ranks(params, sum, count, group, task.stage());  // a group, even of 1
  if (count <= 0) raise("stage '", task.stage(), "': a step with nothing to score");
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : params)
      if (p.grad().defined()) p.mutable_grad().div_(count);
  }
  if (auto r = task.regularizer(); r.defined()) r.backward();  // once per step, the same on every rank
  return sum / count;
}

double mean_loss(TrainTask& task, const std::vector<int64_t>& samples, int64_t batch_size, Communicator& group) {
  torch::NoGradGuard no_grad;
  auto [sum, count] = sum_over(task, samples, batch_size, -1, false);
  if (group.size() > 1) {
    auto stats = torch::tensor({sum, count}, torch::kFloat64);
    group.all_reduce_sum(stats, "stage '" + task.stage() + "': the validation loss");
    sum = stats[0].item<double>(), count = stats[1].item<double>();
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
  Communicator& group = o.group ? *o.group : world();
  const bool main = group.is_main();  // rank 0 alone writes checkpoints, metrics and the progress bar
  const RunDir dir(o.run_dir);
  prepare_run(dir, task, o, group);
  const int64_t n = task.num_samples();

  NamedTensors params = task.trainable();
  for (auto& [name, p] : params) p.set_requires_grad(true);
  auto optimizer = make_optimizer(c, params);

  if (n == 0) raise("stage '", task.stage(), "' has no training samples");
  // The global batch: each rank's batch_size × grad_accum, times the ranks (issue 30).
  const int64_t per_rank = c.batch_size * c.grad_accum, per_step = per_rank * group.size();
  const int64_t steps_per_epoch = (n + per_step - 1) / per_step;
  const int64_t total = c.max_steps > 0 ? c.max_steps : c.epochs * steps_per_epoch;

  int64_t start = 0;
  if (c.resume && fs::exists(dir.resume())) start = resume_from(dir, task, o, params, *optimizer, total, per_step, group);
  else if (main) write_file_atomic(dir.metrics(), "");
  // Each rank read the shared run_dir itself: a rank that saw another resume point (a stale network-filesystem
  // cache) would train other weights, so every rank must start at rank 0's step.
  require_same_on_every_rank(group, {{"step to resume from (" + dir.resume() + ")", std::to_string(start)}});

  auto save = [&](int64_t step) {
    if (!main) return;
    CheckpointInfo info{task.stage(), o.bundle_name, step, o.config_yaml};
    NamedTensors resume = params;
    resume.merge(export_optimizer_state(*optimizer, params));
    save_checkpoint(dir.resume(), resume, info, {{"global_batch", std::to_string(per_step)}});
    save_checkpoint(dir.checkpoint(), task.checkpoint_tensors(), info);
  };

  TrainResult result;
  result.total_steps = total;
  result.checkpoint = dir.checkpoint();
  Validation validation(o.validation, c, steps_per_epoch, total, group);
  StepLog log(task.stage(), main ? dir.metrics() : "", total, start, group.size());
  std::vector<int64_t> order;
  int64_t order_epoch = -1;
  int64_t step = start;
  for (; step < total; ++step) {
    const int64_t epoch = step / steps_per_epoch, k = step % steps_per_epoch;
    if (epoch != order_epoch) order = epoch_order(n, c.shuffle, o.seed, order_epoch = epoch);
    const int64_t lo = k * per_step, hi = std::min(n, lo + per_step);
    // This rank's share of the step: the seeded order cut in blocks of per_rank, dealt in rank order.
    const int64_t mine_lo = std::min(hi, lo + per_rank * group.rank()), mine_hi = std::min(hi, mine_lo + per_rank);
    const auto step_begin = std::chrono::steady_clock::now();
    const double step_loss =
        accumulate_gradients(task, {order.begin() + mine_lo, order.begin() + mine_hi}, c.batch_size, epoch, group);
    if (!std::isfinite(step_loss))
      raise("stage '", task.stage(), "': the loss became ", step_loss, " at step ", step + 1, " (lower train.lr?)");
    const double lr = optimizer_step(*optimizer, params, c, step, total);

    log.record(step + 1, epoch, step_loss, lr, hi - lo, step_begin, validation, result);

    const bool stop_now = c.stop_after_steps > 0 && step + 1 - start >= c.stop_after_steps;
    if ((step + 1) % std::max<int64_t>(1, c.checkpoint_every) == 0 || step + 1 == total || stop_now) save(step + 1);
    if (stop_now) {
      ++step;
      break;
    }
  }
  if (start == total && main && !fs::exists(dir.checkpoint())) save(total);
  // The checkpoint exists for every rank before any reads it (evaluation, the next stage of a recipe).
  group.barrier("stage '" + task.stage() + "': the end of training");
  log.finish();
  if (result.best_validation_loss >= 0 && main)
    std::fprintf(stderr, "%s: lowest validation loss %.4f at step %lld\n", task.stage().c_str(), result.best_validation_loss,
                 static_cast<long long>(result.best_validation_step));
  result.step = step;
  result.finished = step >= total;
  return result;
}

}  // namespace emotune
