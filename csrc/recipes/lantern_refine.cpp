#include "recipes/lantern_refine.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "lantern/fusion.h"
#include "lantern/receptive_fields.h"
#include "lantern/refine_answer.h"
#include "lantern/refine_prompt.h"
#include "lantern/vanilla_file.h"
#include "recipes/lantern_vanilla.h"
#include "llm/call_cache.h"
#include "llm/chat_client.h"
#include "llm/parallel_for.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

// One receptive field of one sequence, and what the LLM made of it.
struct FieldJob {
  size_t sequence = 0;
  ReceptiveField field;
  FieldRefinement answer;  // invalid after every try: the vanilla stands
  int64_t unreadable = 0;  // answers that could not be read
  int64_t copies = 1;      // a short sequence's clipped windows may hold the same items: asked once, counted each time
};

RefinePromptOptions prompt_options(const EmotuneConfig& c) {
  return {c.data.labels, c.lantern.dimensions, c.lantern.top_k, c.lantern.item, c.lantern.sequence};
}

// A re-ask shows the model its unreadable answer and why it could not be read (a deterministic endpoint would
// otherwise give the same answer again), with the attempt as the request's seed.
nlohmann::json with_correction(nlohmann::json messages, const std::string& answer, const std::string& error) {
  messages.push_back({{"role", "assistant"}, {"content", answer}});
  messages.push_back({{"role", "user"}, {"content", "That answer could not be read (" + error +
                                                        "). Answer again with the JSON object only, in the format asked for above."}});
  return messages;
}

// Asks for every distinct field, at most lantern.concurrency at once. Each request is a pure function of the field,
// the attempt and the answers before it, so a resumed run replays the same calls from the cache.
std::vector<FieldJob> refine_fields(const EmotuneConfig& c, const std::vector<VanillaSequence>& sequences, CallMeter& meter) {
  std::vector<FieldJob> jobs;
  for (size_t s = 0; s < sequences.size(); ++s)
    for (const auto& f : receptive_fields(static_cast<int64_t>(sequences[s].items.size()), c.lantern.window, c.lantern.fields_per_item,
                                          "lantern.window", "lantern.fields_per_item")) {
      if (!jobs.empty() && jobs.back().sequence == s && jobs.back().field.start == f.start && jobs.back().field.end == f.end) {
        jobs.back().copies++;  // identical clipped windows lie next to each other
        continue;
      }
      jobs.push_back({s, f, {}, 0, 1});
    }
  ChatClient client(c.lantern.endpoint, "lantern.endpoint", static_cast<uint64_t>(c.seed));
  const auto options = prompt_options(c);
  parallel_for(static_cast<int64_t>(jobs.size()), c.lantern.concurrency, [&](int64_t j) {
    auto& job = jobs[static_cast<size_t>(j)];
    const auto& items = sequences[job.sequence].items;
    auto messages = refine_messages(sequences[job.sequence].id, items, job.field, options);
    for (int64_t attempt = 0; attempt <= c.lantern.retries; ++attempt) {
      if (attempt > 0) messages = with_correction(messages, job.answer.raw, job.answer.error);
      const auto body = client.request_body(messages, attempt);
      auto record = meter.call(call_key(body, -1), [&] {
        auto reply = client.complete(body);
        return CallRecord{reply.text, reply.prompt_tokens, reply.completion_tokens, client.price_usd(reply)};
      });
      job.answer = parse_refinement(record.text, job.field.end - job.field.start, c.data.labels, c.lantern.tolerance);
      job.answer.raw = record.text;
      if (job.answer.valid) return;
      ++job.unreadable;
    }
  });
  return jobs;
}

// Each item's candidates: its vanilla distribution, then one per field holding it (the vanilla again where the field's
// answer could not be read), in field order.
std::vector<std::vector<std::vector<FusionCandidate>>> candidates_of(const std::vector<VanillaSequence>& sequences, const std::vector<FieldJob>& jobs) {
  std::vector<std::vector<std::vector<FusionCandidate>>> out(sequences.size());
  for (size_t s = 0; s < sequences.size(); ++s)
    for (const auto& item : sequences[s].items) out[s].push_back({{item.probabilities, 0, 0, true, false}});
  for (const auto& job : jobs)
    for (int64_t copy = 0; copy < job.copies; ++copy)
      for (int64_t i = job.field.start; i < job.field.end; ++i) {
        const auto& vanilla = sequences[job.sequence].items[static_cast<size_t>(i)].probabilities;
        out[job.sequence][static_cast<size_t>(i)].push_back({job.answer.valid ? job.answer.probabilities[static_cast<size_t>(i - job.field.start)] : vanilla,
                                                             job.field.before(i), job.field.after(i), false, !job.answer.valid});
      }
  return out;
}

// The items of `split` with a gold label, as one fusion batch.
FusionBatch batch_of(const std::vector<VanillaSequence>& sequences, const std::vector<std::vector<std::vector<FusionCandidate>>>& candidates,
                     const std::string& split, int64_t window) {
  std::vector<std::vector<FusionCandidate>> items;
  std::vector<int64_t> gold;
  for (size_t s = 0; s < sequences.size(); ++s) {
    if (sequences[s].split != split) continue;
    for (size_t i = 0; i < sequences[s].items.size(); ++i)
      if (sequences[s].gold[i] >= 0) items.push_back(candidates[s][i]), gold.push_back(sequences[s].gold[i]);
  }
  return fusion_batch(items, window, gold);
}

double accuracy(const torch::Tensor& probabilities, const torch::Tensor& gold) {
  return probabilities.size(0) == 0 ? 0.0 : probabilities.argmax(1).eq(gold).to(torch::kFloat64).mean().item<double>();
}

std::string report_of(const LanternResult& r, const EmotuneConfig& c) {
  std::string md = "# Lantern: " + (c.lantern.vanilla.empty() ? c.data.manifest + " (vanilla: emotune's model)" : c.lantern.vanilla) + "\n\nw = " + std::to_string(c.lantern.window) + ", t = " +
                   std::to_string(c.lantern.fields_per_item) + ", fusion: " + c.lantern.fusion + ". " + std::to_string(r.fields) +
                   " receptive fields; " + std::to_string(r.unreadable_answers) + " unreadable answers asked again; " +
                   std::to_string(r.fields_fallen_back) + " fields kept the vanilla prediction; " + std::to_string(r.rescaled_items) +
                   " refined items rescaled to sum 1. Calls: " + std::to_string(r.spend.new_calls) + " new, " +
                   std::to_string(r.spend.cached_calls) + " from the cache, $" + std::to_string(r.spend.usd) + ".\n\n" +
                   "| split | items | vanilla (%) | uniform average (%) | fused (%) |\n|---|---|---|---|---|\n";
  char row[256];
  for (const auto& s : r.splits) {
    std::snprintf(row, sizeof row, "| %s | %lld | %.2f | %.2f | %.2f |\n", s.split.c_str(), static_cast<long long>(s.items), 100 * s.vanilla,
                  100 * s.uniform, 100 * s.fused);
    md += row;
  }
  return md;
}

}  // namespace

LanternResult run_lantern_refine(const EmotuneConfig& config) {
  EmotuneConfig c = config;
  const auto dir = fs::path(c.run_dir) / "lantern";
  ensure_directory(dir.string());
  std::string vanilla = c.lantern.vanilla;
  if (vanilla.empty()) {  // emotune's own model over data.manifest's sequences, with its dimension head's ratings if any
    vanilla = (dir / "vanilla.jsonl").string();
    c.lantern.dimensions = write_vanilla_from_model(c, vanilla).dimensions;
  }
  const auto sequences = read_vanilla_file(vanilla, c.data.labels, c.lantern.dimensions);
  CallCache cache((dir / "calls.jsonl").string());
  CallMeter meter(cache, {c.lantern.budget_usd, c.lantern.budget_tokens, c.lantern.stop_after_calls, "lantern"});
  const auto jobs = refine_fields(c, sequences, meter);
  LanternResult r;
  for (const auto& job : jobs)
    r.fields += job.copies, r.unreadable_answers += job.unreadable, r.fields_fallen_back += job.copies * !job.answer.valid,
        r.rescaled_items += job.copies * job.answer.rescaled;
  const auto candidates = candidates_of(sequences, jobs);
  const int64_t window = c.lantern.window;
  LanternFusion fusion(FusionOptions{c.lantern.fusion_hidden, c.lantern.fusion == "uniform", static_cast<uint64_t>(c.seed)}),
      uniform(FusionOptions{c.lantern.fusion_hidden, true, static_cast<uint64_t>(c.seed)});
  const auto holdout = batch_of(sequences, candidates, c.lantern.holdout_split, window);
  if (!c.lantern.holdout_split.empty() && holdout.size() == 0 && c.lantern.fusion == "attention")
    std::fprintf(stderr, "lantern: no item of lantern.holdout_split '%s' has a gold label: the fusion's fit takes every step, no early stopping\n",
                 c.lantern.holdout_split.c_str());
  auto fit = fit_fusion(fusion, batch_of(sequences, candidates, c.data.train_split, window), holdout);
  save_fusion((dir / "fusion.safetensors").string(), fusion);
  torch::NoGradGuard no_grad;
  std::vector<std::string> splits;
  for (const auto& s : sequences)
    if (std::find(splits.begin(), splits.end(), s.split) == splits.end()) splits.push_back(s.split);
  nlohmann::json metrics = {{"fit", {{"steps", fit.steps}, {"holdout_loss", fit.holdout_loss}}}, {"splits", nlohmann::json::object()}};
  for (const auto& split : splits) {
    auto b = batch_of(sequences, candidates, split, window);
    if (b.size() == 0) continue;
    LanternSplitResult s{split, b.size(), accuracy(b.probabilities.select(1, 0), b.gold), accuracy(uniform->forward(b.features, b.probabilities), b.gold),
                         accuracy(fusion->forward(b.features, b.probabilities), b.gold)};
    metrics["splits"][split] = {{"items", s.items}, {"vanilla", s.vanilla}, {"uniform", s.uniform}, {"fused", s.fused}};
    r.splits.push_back(s);
  }
  r.spend = meter.spend();
  metrics["calls"] = {{"new", r.spend.new_calls}, {"cached", r.spend.cached_calls}, {"usd", r.spend.usd},
                      {"prompt_tokens", r.spend.prompt_tokens}, {"completion_tokens", r.spend.completion_tokens}};
  metrics["fields"] = {{"total", r.fields}, {"unreadable_answers", r.unreadable_answers}, {"fallen_back", r.fields_fallen_back},
                       {"rescaled_items", r.rescaled_items}};
  std::string refined;
  for (size_t s = 0; s < sequences.size(); ++s) {
    auto b = fusion_batch(candidates[s], window);
    auto fused = fusion->forward(b.features, b.probabilities);
    for (size_t i = 0; i < sequences[s].items.size(); ++i) {
      std::vector<std::vector<double>> refinements;
      for (size_t k = 1; k < candidates[s][i].size(); ++k) refinements.push_back(candidates[s][i][k].probabilities);
      auto row = fused[static_cast<int64_t>(i)].to(torch::kFloat64).contiguous();
      refined += nlohmann::json{{"sequence", sequences[s].id}, {"index", i}, {"split", sequences[s].split},
                                {"gold", sequences[s].gold[i] >= 0 ? c.data.labels[static_cast<size_t>(sequences[s].gold[i])] : ""},
                                {"vanilla", candidates[s][i][0].probabilities}, {"refinements", refinements},
                                {"fused", std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel())}}
                     .dump() +
                 "\n";
    }
  }
  write_file_atomic((dir / "refined.jsonl").string(), refined);
  write_file_atomic((dir / "metrics.json").string(), metrics.dump(2) + "\n");
  r.report_markdown = report_of(r, c);
  write_file_atomic((dir / "report.md").string(), r.report_markdown);
  return r;
}

}  // namespace emotune
