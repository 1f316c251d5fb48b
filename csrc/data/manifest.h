// The manifest: one JSON object per line (JSONL), documented in docs/data.md.
//   {"image": "img/0001.jpg", "label": "awe", "split": "train", "user": "u7",
//    "aspects": {"scene": "beach", "object": ["dog", "ball"], "brightness": 0.7},
//    "sequence": "album_03", "position": 4, "speaker": "u7", "text": "at the beach",
//    "dimensions": {"valence": 6.2, "arousal": 3.9}}
// Image paths are relative to the manifest's directory unless absolute. Every problem is reported as
// manifest:line.
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace emotune {

struct ManifestRow {
  int64_t line = 0;
  std::string image;  // resolved path
  std::string label;  // may be empty (aspect-only rows)
  std::string split;
  std::string user;
  nlohmann::json aspects = nlohmann::json::object();
  nlohmann::json distribution;  // optional: label -> votes or probability (Emotion6, Abstract, Flickr...)
  nlohmann::json meta;          // optional: other facts of the source dataset, carried along unread
  // Optional continuous ratings of the image (Emotion6's valence and arousal, the affect world's): what a dimension
  // head (dimensions/dimension_head.h) is fitted to. Finite numbers, keyed by the dimension's name.
  std::map<std::string, double> dimensions;
  // Sequences (a dialogue's utterances, an album, a user's timeline; what Lantern refines over): the sequence id and
  // the row's 0-based place in it, both or neither; a speaker and a text (utterance, caption) are optional.
  std::string sequence;
  int64_t position = -1;
  std::string speaker, text;
};

struct Manifest {
  std::string path;
  std::vector<ManifestRow> rows;
  int64_t dropped_duplicates = 0;  // rows left out by drop_duplicate_rows
  std::string where(const ManifestRow& row) const;  // "path:line"
  std::vector<ManifestRow> split(const std::string& name, int64_t max_rows = 0) const;
};

// A sequence's positions run 0..n-1, each once, and all its rows lie in one split (else an error naming the lines).
// A row with the image, user and split of an earlier one would train (or count) twice: an error naming both
// lines, or, with drop_duplicate_rows (data.duplicate_rows: drop), left out and counted. The same image for
// several users (personalisation) or in several splits is not a duplicate.
Manifest load_manifest(const std::string& path, bool drop_duplicate_rows = false);

}  // namespace emotune
