// MASP's ablation (paper Table 2) on one split: V (zero-shot), V+A, V+S, V+A+rS (random soft prompt) and
// V+A+S (MASP). Trains what is missing — stage 1, stage 2 with aspects, stage 2 without aspects — each in
// its own sub-directory of run_dir (so an interrupted ablation resumes), then evaluates all five.
#pragma once
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace emotune {

struct AblationRow {
  std::string name;
  ClassificationMetrics metrics;
};

struct AblationResult {
  std::vector<AblationRow> rows;
  std::string table_markdown;
};

// `files` and `overrides` as given on the command line; ablation.stage{1,2}_set add per-stage overrides.
AblationResult run_ablation(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

}  // namespace emotune
