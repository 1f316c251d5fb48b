// One converter per benchmark layout (../shared/reference/DATASET_LAYOUTS.md, docs/datasets.md). Each reads
// the dataset in its original form under options.root and returns its rows with normalised labels; splits
// are assigned and files written by prepare_dataset() (prepare/prepare_dataset.h).
#pragma once
#include <string>
#include <vector>

#include "prepare/prepared_dataset.h"

namespace emotune {

PreparedDataset convert_emoset(const PrepareOptions& options);
PreparedDataset convert_fi(const PrepareOptions& options);
PreparedDataset convert_artphoto(const PrepareOptions& options);
PreparedDataset convert_image_folders(const PrepareOptions& options);
PreparedDataset convert_fer2013(const PrepareOptions& options);  // folders, with FER-2013's label order
PreparedDataset convert_emotion6(const PrepareOptions& options);
PreparedDataset convert_katsurai(const PrepareOptions& options);  // Flickr and Instagram
PreparedDataset convert_abstract(const PrepareOptions& options);
PreparedDataset convert_webemo(const PrepareOptions& options);
PreparedDataset convert_affection(const PrepareOptions& options);

// Helpers the converters share.
bool is_image_file(const std::string& path);
std::vector<std::string> list_images(const std::string& dir);  // sorted, non-recursive
std::string find_existing(const std::string& root, const std::vector<std::string>& candidates, const std::string& what);
std::string relative_to(const std::string& path, const std::string& root);
int64_t parse_count(const std::string& cell, const std::string& where);
double parse_number(const std::string& cell, const std::string& where);
// Replaces each {name} of `pattern` by its value; an unknown placeholder is an error naming the key.
std::string fill_pattern(const std::string& pattern, const std::vector<std::pair<std::string, std::string>>& values,
                         const std::string& key);
// Adds `row` if its image exists; otherwise an error naming row.source, or (missing_images_are_errors off)
// a counted drop.
void add_if_present(PreparedDataset& dataset, PreparedRow row, const PrepareOptions& options);

}  // namespace emotune
