#include "eval/label_polarity.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/error.h"

namespace emotune {

namespace {

const std::map<std::string, Polarity>& table() {
  using P = Polarity;
  static const std::map<std::string, Polarity> t{
      // Mikels' eight (EmoSet, FI, ArtPhoto, Abstract)
      {"amusement", P::Positive}, {"awe", P::Positive}, {"contentment", P::Positive}, {"excitement", P::Positive},
      {"anger", P::Negative}, {"disgust", P::Negative}, {"fear", P::Negative}, {"sadness", P::Negative},
      // Emotion6 (and its neutral)
      {"joy", P::Positive}, {"surprise", P::Positive}, {"neutral", P::Neutral},
      // FER (EmoSet's facial expressions)
      {"happy", P::Positive}, {"angry", P::Negative}, {"sad", P::Negative},
      // WEBEmo level 2 (love, joy, surprise positive; confusion, anger, fear, sadness negative)
      {"love", P::Positive}, {"confusion", P::Negative},
      // binary sets (Flickr, Instagram, WEBEmo 2-way)
      {"positive", P::Positive}, {"negative", P::Negative}};
  return t;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

const char* polarity_name(Polarity p) {
  switch (p) {
    case Polarity::Positive: return "positive";
    case Polarity::Negative: return "negative";
    case Polarity::Neutral: return "neutral";
  }
  return "?";
}

Polarity polarity_of(const std::string& label) {
  auto it = table().find(lower(label));
  if (it != table().end()) return it->second;
  std::string known;
  for (const auto& [name, p] : table()) known += (known.empty() ? "" : ", ") + name;
  raise("label '", label, "' has no known polarity (SEPM asks positive or negative first); the labels with one: ", known,
        " (eval/label_polarity.cpp)");
}

PolaritySplit split_by_polarity(const std::vector<std::string>& labels) {
  PolaritySplit out;
  for (const auto& l : labels) {
    switch (polarity_of(l)) {
      case Polarity::Positive: out.positive.push_back(l); break;
      case Polarity::Negative: out.negative.push_back(l); break;
      case Polarity::Neutral: out.neutral.push_back(l); break;
    }
  }
  return out;
}

}  // namespace emotune
