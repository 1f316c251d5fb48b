// Many checkpoints x many datasets as one table shaped like MASP's Table 1 (rows: checkpoints or ablation
// settings; columns: datasets), written as Markdown, CSV (accuracy and macro-F1) and JSON, with every cell's
// full evaluation in its own directory. Each dataset is a config fragment written by `emotune prepare`
// (dataset.yaml: manifest, labels, splits), so columns may have different label sets; the emotion question
// lists each column's own labels.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "eval/metrics.h"

namespace emotune {

struct TableRow {
  std::string name;
  std::string checkpoint;               // "": the frozen VLM alone (zero-shot)
  ConfigOverlay settings;               // config keys this row's model needs (e.g. masp.aspects: [scene])
};

struct TableColumn {
  std::string name;
  std::string dataset_config;  // "": the base config's own data.*
};

struct EvalTable {
  std::vector<TableRow> rows;
  std::vector<TableColumn> columns;
  std::vector<std::vector<ClassificationMetrics>> cells;  // [row][column]
  std::string markdown() const;
  std::string csv(bool macro_f1) const;
};

// "name=value" entries (a bare value is its own name; "name=" is a zero-shot row).
std::vector<TableRow> parse_table_rows(const std::vector<std::string>& entries);
std::vector<TableColumn> parse_table_columns(const std::vector<std::string>& entries);

// Config files and --set overrides as on the command line; each column's dataset.yaml is applied after the
// files and before the overrides. Writes out_dir/{table.md, table.csv, table-macro-f1.csv, table.json} and
// out_dir/<row>/<column>/ (metrics.json, confusion.csv, predictions.jsonl).
EvalTable run_eval_table(const std::vector<std::string>& files, const std::vector<std::string>& overrides,
                         const std::vector<TableRow>& rows, const std::vector<TableColumn>& columns, const std::string& out_dir);

}  // namespace emotune
