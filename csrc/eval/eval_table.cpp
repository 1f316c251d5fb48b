#include "eval/eval_table.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "config/config.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "dist/communicator.h"
#include "eval/evaluate.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
std::pair<std::string, std::string> split_entry(const std::string& entry) {
  auto eq = entry.find('=');
  if (eq == std::string::npos) return {fs::path(entry).parent_path().filename().string(), entry};
  if (eq == 0) raise("table entry '", entry, "': expected name=value");
  return {entry.substr(0, eq), entry.substr(eq + 1)};
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100.0 * v);
  return buf;
}

}  // namespace

std::vector<TableRow> parse_table_rows(const std::vector<std::string>& entries) {
  std::vector<TableRow> rows;
  for (const auto& e : entries) {
    auto [name, checkpoint] = split_entry(e);
    if (!checkpoint.empty() && !fs::exists(checkpoint)) raise("eval.checkpoints: '", checkpoint, "' (row ", name, ") does not exist");
    rows.push_back({name, checkpoint, {}});
  }
  return rows;
}

std::vector<TableColumn> parse_table_columns(const std::vector<std::string>& entries) {
  std::vector<TableColumn> columns;
  for (const auto& e : entries) {
    auto [name, config] = split_entry(e);
    if (!fs::exists(config)) raise("eval.datasets: '", config, "' (column ", name, ") does not exist (write it with emotune prepare)");
    columns.push_back({name, config});
  }
  return columns;
}

std::string EvalTable::markdown() const {
  std::ostringstream t;
  t << "| setting |";
  for (const auto& c : columns) t << " " << c.name << " |";
  t << "\n|---|";
  for (size_t i = 0; i < columns.size(); ++i) t << "---|";
  t << "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    t << "| " << rows[r].name << " |";
    for (const auto& m : cells[r]) t << " " << percent(m.accuracy) << " |";
    t << "\n";
  }
  if (cells.empty()) return t.str();
  // What a model that knows nothing gets on each column: a uniform guess, and always the split's most frequent
  // label (the gold distribution is the same in every row of a column).
  t << "| chance (1 / labels) |";
  for (const auto& m : cells[0]) t << " " << (m.class_total.empty() ? "-" : percent(1.0 / static_cast<double>(m.class_total.size()))) << " |";
  t << "\n| majority class |";
  for (const auto& m : cells[0]) {
    const int64_t most = m.class_total.empty() ? 0 : *std::max_element(m.class_total.begin(), m.class_total.end());
    t << " " << (m.total > 0 ? percent(static_cast<double>(most) / static_cast<double>(m.total)) : "-") << " |";
  }
  t << "\n";
  return t.str();
}

std::string EvalTable::csv(bool macro_f1) const {
  std::ostringstream t;
  t << "setting";
  for (const auto& c : columns) t << "," << c.name;
  t << "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    t << rows[r].name;
    for (const auto& m : cells[r]) t << "," << (macro_f1 ? m.macro_f1 : m.accuracy);
    t << "\n";
  }
  return t.str();
}

EvalTable run_eval_table(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                         const std::vector<TableRow>& rows, const std::vector<TableColumn>& columns, const std::string& out_dir) {
  if (rows.empty() || columns.empty()) raise("evaluation table: needs at least one row (eval.checkpoints) and one column (eval.datasets)");
  EvalTable table{rows, columns, {}};
  table.cells.assign(rows.size(), std::vector<ClassificationMetrics>(columns.size()));
  auto column_files = [&](const TableColumn& c) { return c.dataset_config.empty() ? files : with_entries(files, {c.dataset_config}); };
  const EmotuneConfig base = load_config(column_files(columns.front()), overrides);
  auto vlm = open_bundle(base);
  nlohmann::json summary = nlohmann::json::array();
  for (size_t ci = 0; ci < columns.size(); ++ci) {
    const EmotuneConfig cc = load_config(column_files(columns[ci]), overrides);
    if (cc.bundle != base.bundle) raise(columns[ci].dataset_config, ": sets bundle '", cc.bundle, "'; one table uses one bundle (", base.bundle, ")");
    auto images = open_split(*vlm, cc, cc.data.eval_split, "data.eval_split");
    for (size_t ri = 0; ri < rows.size(); ++ri) {
      const auto& row = rows[ri];
      const EmotuneConfig rc = with_overlay(cc, row.settings);
      std::fprintf(stderr, "== %s on %s (split '%s')\n", row.name.c_str(), columns[ci].name.c_str(), rc.data.eval_split.c_str());
      auto model = make_emotion_model(*vlm, rc, row.checkpoint, parts_in_checkpoint(row.checkpoint));
      auto samples = make_emotion_samples(*images, rc.data.labels);
      auto evaluation = evaluate_emotions(model, *images, samples, eval_options(rc));
      write_emotion_evaluation((fs::path(out_dir) / row.name / columns[ci].name).string(), evaluation, model, *images,
                               {{"setting", row.name}, {"checkpoint", row.checkpoint}, {"dataset", columns[ci].name},
                                {"split", rc.data.eval_split}, {"mode", name_of(rc.eval.mode)}, {"skipped_images", images->skipped()}});
      summary.push_back({{"setting", row.name}, {"dataset", columns[ci].name}, {"checkpoint", row.checkpoint},
                         {"metrics", evaluation.metrics.to_json(rc.data.labels)}});
      table.cells[ri][ci] = std::move(evaluation.metrics);
    }
  }
  if (!world().is_main()) return table;  // rank 0 alone writes
  ensure_directory(out_dir);
  write_file_atomic((fs::path(out_dir) / "table.md").string(), table.markdown());
  write_file_atomic((fs::path(out_dir) / "table.csv").string(), table.csv(false));
  write_file_atomic((fs::path(out_dir) / "table-macro-f1.csv").string(), table.csv(true));
  write_file_atomic((fs::path(out_dir) / "table.json").string(), summary.dump(2) + "\n");
  return table;
}

}  // namespace emotune
