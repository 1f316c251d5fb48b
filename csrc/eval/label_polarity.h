// The polarity of every emotion label emotune knows, in one place: SEPM's coarse stage (paper 003 §3.2) asks
// positive or negative first and keeps the matching options after. Label sets: Mikels' eight (EmoSet, FI,
// ArtPhoto, Abstract, the affect world), Emotion6's six, FER's seven (with neutral), WEBEmo's level-2 seven, the
// binary sets. Surprise counts as positive, as in emotune's own WEBEmo binary mapping
// (prepare/convert_webemo.cpp) and the usual FER convention; neutral (and a dataset's own "neutral") is neither,
// and SEPM keeps it among the options of both polarities.
#pragma once
#include <string>
#include <vector>

namespace emotune {

enum class Polarity { Positive, Negative, Neutral };
const char* polarity_name(Polarity p);

// Case-insensitive; a label of no known set is an error naming it and the labels that are known.
Polarity polarity_of(const std::string& label);

// The labels of each polarity, in the order given.
struct PolaritySplit {
  std::vector<std::string> positive, negative, neutral;
};
PolaritySplit split_by_polarity(const std::vector<std::string>& labels);

}  // namespace emotune
