// `emotune prepare`: a benchmark in its original layout -> OUT/manifest.jsonl (docs/data.md), OUT/splits.json
// (computed splits, persisted), OUT/dataset.yaml (a config fragment: the manifest and the label set, to pass
// with -c or as an eval.datasets column) and OUT/prepare.json (counts per split and label, drops and why).
#pragma once
#include <string>

#include "config/config.h"
#include "prepare/prepared_dataset.h"

namespace emotune {

const std::vector<std::string>& preparable_datasets();
PrepareOptions prepare_options(const std::string& dataset, const std::string& root, const std::string& out,
                               const PrepareConfig& config);
// Converts, assigns splits, writes the four files; returns the dataset as written.
PreparedDataset prepare_dataset(const PrepareOptions& options);

}  // namespace emotune
