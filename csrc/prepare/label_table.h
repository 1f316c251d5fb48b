// Per-dataset label normalisation: each dataset's label set in its canonical order, and the spellings its
// files use for them (sad -> sadness, Content -> contentment, the Emotion6 `digust` typo...). A label that is
// in neither is an error naming where it was read, with the nearest label as a suggestion.
#pragma once
#include "core/text.h"  // trimmed, lower_trimmed: the converters read labels through them
#include <map>
#include <string>
#include <vector>

namespace emotune {

struct LabelTable {
  std::vector<std::string> labels;
  std::map<std::string, std::string> synonyms;  // lower-case spelling -> canonical label

  // `raw` is matched case-insensitively, with surrounding spaces removed.
  std::string normalise(const std::string& raw, const std::string& where) const;
  bool contains(const std::string& raw) const;
};

LabelTable mikels_labels();    // FI, ArtPhoto, Abstract, EmoSet: the 8 Mikels emotions
LabelTable emotion6_labels();  // anger, disgust, fear, joy, sadness, surprise
LabelTable binary_labels();    // Flickr, Instagram: positive, negative
LabelTable artemis_labels();   // Affection: the 8 Mikels emotions and "something else"
// A table whose labels are exactly `labels` (WEBEmo's 25 names, folder classes), with no synonyms.
LabelTable plain_labels(std::vector<std::string> labels);


}  // namespace emotune

namespace emotune {
// A YAML mapping file (source label: target label), e.g. WEBEmo's 25 -> 7 classes. Errors name file:line.
std::map<std::string, std::string> load_label_map(const std::string& path);
}  // namespace emotune
