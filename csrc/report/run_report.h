// `emotune report RUN_DIR`: PNG plots and a Markdown summary of everything a run directory holds —
// training curves (every metrics.jsonl), confusion matrix and per-class accuracy (every evaluation's
// metrics.json), the tables (ablation.md, table.md), and MASP's Figure 4: how much the soft prompt attends
// to each aspect's tokens in the bundle's last layer (every stage-2 checkpoint with aspect modules; needs
// the optional last_attention bundle method).
#pragma once
#include <string>
#include <vector>

namespace emotune {

struct ReportOptions {
  std::string run_dir;
  std::string out_dir;           // default: run_dir/report
  int64_t attention_images = 32;  // eval images averaged for the attention figure
};

struct ReportResult {
  std::string summary_path;
  std::vector<std::string> figures;
};

ReportResult write_run_report(const ReportOptions& options);

}  // namespace emotune
