// Splits for datasets without official split files, computed once and persisted beside the manifest
// (splits.json), so they never change silently: a rerun with the same input and settings reuses the file
// byte for byte; a changed input (images added, removed or relabelled) or changed settings are reported as an
// error until the user asks for new splits (prepare.resplit, which keeps the old file as splits.json.bak).
//   stratified: per label, a seeded permutation of its rows (sorted by key) is cut by prepare.split_ratios;
//   per_user:   per user, the same with prepare.user_train_fraction / user_val_fraction (paper 000 §IV-A).
#pragma once
#include <string>

#include "prepare/prepared_dataset.h"

namespace emotune {

// Fills PreparedRow::split for every row; a no-op when the dataset's own files gave every split.
// `default_ratios` apply when options.split_ratios is empty.
void assign_splits(PreparedDataset& dataset, const PrepareOptions& options, const std::vector<double>& default_ratios,
                   const std::string& splits_path);

}  // namespace emotune
