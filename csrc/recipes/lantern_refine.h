// Recipe: Lantern (paper 004) — an LLM refines a vanilla model's emotion predictions over receptive fields of each
// sequence, and a receptive-field-aware attention weighting merges its refinements with the vanilla prediction.
//
//   emotune refine -c configs/lantern.yaml          (docs/lantern.md; a real endpoint in lantern.endpoint.*)
//
//   read     lantern.vanilla: every item's vanilla distribution (and dimension scores), in sequences; when empty,
//            emotune's own predictor (eval.checkpoint, else zero-shot) over data.manifest's sequences, written to
//            run_dir/lantern/vanilla.jsonl first (recipes/lantern_vanilla.h)
//   refine   every receptive field of every sequence (w = lantern.window, each item in t = lantern.fields_per_item
//            fields) asked once through llm/ (cache run_dir/lantern/calls.jsonl, budget, retries, resume); an answer
//            that cannot be read is asked again (lantern.retries), then the vanilla prediction stands for that field
//   fit      the fusion on data.train_split's items, early-stopped on lantern.holdout_split's (lantern.fusion:
//            attention; uniform: nothing to fit)
//   save     run_dir/lantern/: refined.jsonl (per item: vanilla, the t refinements, the fused distribution),
//            fusion.safetensors, metrics.json (per split: vanilla, uniform-average and fused accuracy; the calls
//            and their cost; unreadable fields, rescaled items) and report.md
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "llm/call_meter.h"

namespace emotune {

struct LanternSplitResult {
  std::string split;
  int64_t items = 0;  // items with a gold label
  double vanilla = 0, uniform = 0, fused = 0;  // accuracies
};

struct LanternResult {
  std::vector<LanternSplitResult> splits;
  int64_t fields = 0, unreadable_answers = 0, fields_fallen_back = 0, rescaled_items = 0;
  Spend spend;
  std::string report_markdown;
};

// Throws RunStopped (llm/call_meter.h) at a budget or call limit: every answered call is in the cache.
LanternResult run_lantern_refine(const EmotuneConfig& config);

}  // namespace emotune
