#include "prepare/convert_iemocap.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> sorted_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".txt" && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// utterance id -> transcript, from one transcriptions file ("Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.").
std::map<std::string, std::string> read_transcripts(const fs::path& file) {
  std::map<std::string, std::string> out;
  if (!fs::exists(file)) return out;
  std::ifstream in(file);
  static const std::regex line(R"(^(\S+) \[[0-9.]+-[0-9.]+\]: ?(.*?)\r?$)");
  std::smatch m;
  for (std::string text; std::getline(in, text);)
    if (std::regex_match(text, m, line)) out[m[1].str()] = m[2].str();
  return out;
}

// The EmoEvaluation lines of one dialogue: "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]".
std::vector<IemocapUtterance> read_evaluation(const fs::path& file, int session, const std::map<std::string, std::string>& transcripts) {
  std::ifstream in(file);
  if (!in) raise("cannot read '", file.string(), "'");
  static const std::regex line(R"(^\[([0-9.]+) - ([0-9.]+)\]\t(\S+)\t(\S+)\t\[([-0-9.]+), ([-0-9.]+), ([-0-9.]+)\]\s*$)");
  std::vector<IemocapUtterance> out;
  std::smatch m;
  int64_t number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (text.empty() || text[0] != '[') continue;  // headers, the evaluators' own lines (C-E1: ...), blank lines
    if (!std::regex_match(text, m, line))
      raise(file.string(), ":", number, ": expected '[start - end]<TAB>utterance<TAB>label<TAB>[V, A, D]', got '", text, "'");
    IemocapUtterance u;
    u.start = std::stod(m[1].str()), u.end = std::stod(m[2].str());
    u.id = m[3].str(), u.label = m[4].str();
    u.valence = std::stod(m[5].str()), u.arousal = std::stod(m[6].str()), u.dominance = std::stod(m[7].str());
    u.dialogue = file.stem().string();
    u.session = session;
    const auto turn = u.id.substr(u.id.rfind('_') + 1);
    if (turn.empty() || (turn[0] != 'F' && turn[0] != 'M')) raise(file.string(), ":", number, ": utterance '", u.id, "' has no F/M turn letter");
    char speaker[16];
    std::snprintf(speaker, sizeof speaker, "Ses%02d_%c", session, turn[0]);
    u.speaker = speaker;
    auto t = transcripts.find(u.id);
    if (t != transcripts.end()) u.text = t->second;
    out.push_back(u);
  }
  std::stable_sort(out.begin(), out.end(), [](const IemocapUtterance& a, const IemocapUtterance& b) { return a.start < b.start; });
  return out;
}

struct LabelSet {
  std::string name;
  std::vector<std::string> labels;
  std::map<std::string, std::string> map;  // IEMOCAP code -> label; codes not here are dropped
};

const std::vector<LabelSet>& label_sets() {
  static const std::vector<LabelSet> sets{
      {"4", {"happy", "sad", "neutral", "angry"}, {{"hap", "happy"}, {"exc", "happy"}, {"sad", "sad"}, {"neu", "neutral"}, {"ang", "angry"}}},
      {"6",
       {"happy", "sad", "neutral", "angry", "excited", "frustrated"},
       {{"hap", "happy"}, {"sad", "sad"}, {"neu", "neutral"}, {"ang", "angry"}, {"exc", "excited"}, {"fru", "frustrated"}}},
  };
  return sets;
}

std::string dataset_yaml(const LabelSet& set) {
  std::string labels;
  for (const auto& l : set.labels) labels += (labels.empty() ? "" : ", ") + l;
  return "# IEMOCAP, " + set.name + "-way (emotune prepare iemocap): for emotune refine once a vanilla model has added\n"
         "# probabilities to utterances-" + set.name + ".jsonl (docs/lantern.md).\n"
         "data:\n  labels: [" + labels + "]\n  train_split: train\n  eval_split: test\n"
         "lantern:\n  # dimensions: [valence, arousal, dominance]   # when the vanilla model writes its own V/A/D predictions\n"
         "  item: utterance\n  sequence: dialogue\n  holdout_split: \"\"\n";
}

}  // namespace

std::vector<IemocapUtterance> read_iemocap(const std::string& root) {
  std::vector<IemocapUtterance> out;
  for (int session = 1; session <= 5; ++session) {
    const fs::path dir = fs::path(root) / ("Session" + std::to_string(session)) / "dialog";
    if (!fs::is_directory(dir / "EmoEvaluation")) continue;
    for (const auto& file : sorted_files(dir / "EmoEvaluation")) {
      auto utterances = read_evaluation(file, session, read_transcripts(dir / "transcriptions" / file.filename()));
      out.insert(out.end(), utterances.begin(), utterances.end());
    }
  }
  if (out.empty()) raise(root, ": no Session{1..5}/dialog/EmoEvaluation/*.txt with utterances (the IEMOCAP release layout, docs/lantern.md)");
  return out;
}

IemocapPrepared prepare_iemocap(const std::string& root, const std::string& out) {
  const auto utterances = read_iemocap(root);
  IemocapPrepared r;
  r.utterances = static_cast<int64_t>(utterances.size());
  ensure_directory(out);
  for (const auto& set : label_sets()) {
    const std::string way = set.name + "-way";
    std::string lines, dialogue;
    int64_t index = 0;
    for (const auto& u : utterances) {
      if (u.dialogue != dialogue) dialogue = u.dialogue, index = 0, r.dialogues += set.name == "4";
      auto label = set.map.find(u.label);
      if (label == set.map.end()) {
        r.dropped[way][u.label == "xxx" ? "xxx (no majority)" : "label '" + u.label + "'"]++;
        continue;
      }
      const std::string split = u.session == 5 ? "test" : "train";
      r.counts[way][split + "/" + label->second]++;
      lines += nlohmann::json{{"sequence", u.dialogue}, {"index", index++}, {"split", split}, {"gold", label->second},
                              {"speaker", u.speaker}, {"text", u.text}, {"utterance", u.id}, {"start", u.start}, {"end", u.end},
                              // The annotators' V/A/D: gold, like the label, so not under "dimensions" (what a vanilla model predicts
                              // and the LLM is shown as its reference).
                              {"gold_dimensions", {{"valence", u.valence}, {"arousal", u.arousal}, {"dominance", u.dominance}}}}
                   .dump() +
               "\n";
    }
    write_file_atomic((fs::path(out) / ("utterances-" + set.name + ".jsonl")).string(), lines);
    write_file_atomic((fs::path(out) / ("dataset-" + set.name + ".yaml")).string(), dataset_yaml(set));
  }
  nlohmann::json summary = {{"dataset", "iemocap"}, {"root", root}, {"dialogues", r.dialogues}, {"utterances", r.utterances},
                            {"counts", r.counts}, {"dropped", r.dropped}};
  write_file_atomic((fs::path(out) / "prepare.json").string(), summary.dump(2) + "\n");
  return r;
}

}  // namespace emotune
