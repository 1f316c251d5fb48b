// `emotune prepare iemocap ROOT --out DIR` (Lantern, issue 32): IEMOCAP's release layout into the sequences Lantern
// refines. IEMOCAP has no still images, so it becomes no image manifest: it becomes Lantern's vanilla-file skeleton
// (docs/lantern.md) — one line per utterance with its dialogue, place, split, gold label, speaker, transcript and
// valence/arousal/dominance — which a vanilla model (text, audio or video: CORECT, SDT, ...) completes with its
// `probabilities` before `emotune refine` reads it.
//
//   ROOT/Session{1..5}/dialog/EmoEvaluation/<dialogue>.txt   "[start - end]<TAB>utterance<TAB>label<TAB>[V, A, D]"
//   ROOT/Session{1..5}/dialog/transcriptions/<dialogue>.txt  "utterance [start-end]: text"
//
// Labels: hap, sad, neu, ang, exc, fru kept (6-way: happy, sad, neutral, angry, excited, frustrated); the 4-way set
// merges excited into happy and drops frustrated; xxx (no agreement) and the rare classes (sur, fea, dis, oth) are
// dropped and counted. An utterance's speaker is its turn letter (F or M, the last '_' part of its name) with the
// session (Ses01_F); utterances are ordered by start time and numbered 0..n-1 over those kept. Sessions 1-4 are
// train, session 5 test. Written: utterances-4.jsonl and utterances-6.jsonl, dataset-4.yaml and dataset-6.yaml
// (data.labels, splits, lantern.* for dialogues), prepare.json (counts and drops).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace emotune {

struct IemocapUtterance {
  std::string id, dialogue, speaker, text, label;  // label: IEMOCAP's three-letter code
  int session = 0;
  double start = 0, end = 0;
  double valence = 0, arousal = 0, dominance = 0;
};

struct IemocapPrepared {
  std::map<std::string, std::map<std::string, int64_t>> counts;   // "4-way"/"6-way" -> "split/label" -> utterances
  std::map<std::string, std::map<std::string, int64_t>> dropped;  // "4-way"/"6-way" -> reason -> utterances
  int64_t dialogues = 0, utterances = 0;                          // read (before any drop)
};

// Every utterance of the release under `root`, in dialogue order; errors name the file and line.
std::vector<IemocapUtterance> read_iemocap(const std::string& root);
IemocapPrepared prepare_iemocap(const std::string& root, const std::string& out);

}  // namespace emotune
