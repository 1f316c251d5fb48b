// `emotune prepare iemocap` on a fixture rebuilt from the release format (docs/lantern.md): the 4-way and 6-way counts,
// what is dropped, the order, the speakers, the transcripts and the dimensions of the vanilla-file skeleton.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "prepare/convert_iemocap.h"
#include "test_support.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

// One dialogue of session `session`: EmoEvaluation (lines deliberately out of time order, with the evaluators' own
// lines and a header as in the release) and its transcript.
void write_dialogue(const std::string& root, int session, const std::string& dialogue,
                    const std::vector<std::tuple<double, std::string, std::string, std::string>>& turns) {
  const auto dir = fs::path(root) / ("Session" + std::to_string(session)) / "dialog";
  std::string evaluation = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n", transcript;
  for (auto it = turns.rbegin(); it != turns.rend(); ++it) {
    const auto& [start, turn, label, text] = *it;
    char line[256];
    std::snprintf(line, sizeof line, "[%.4f - %.4f]\t%s_%s\t%s\t[2.5000, 3.0000, 3.5000]\nC-E1:\tNeutral;\t()\nA-E2:\tval 3; act 3; dom  3;\t()\n\n",
                  start, start + 1.5, dialogue.c_str(), turn.c_str(), label.c_str());
    evaluation += line;
    std::snprintf(line, sizeof line, "%s_%s [%08.4f-%08.4f]: %s\n", dialogue.c_str(), turn.c_str(), start, start + 1.5, text.c_str());
    transcript += line;
  }
  ensure_directory((dir / "EmoEvaluation").string());
  ensure_directory((dir / "transcriptions").string());
  write_file_atomic((dir / "EmoEvaluation" / (dialogue + ".txt")).string(), evaluation);
  write_file_atomic((dir / "transcriptions" / (dialogue + ".txt")).string(), transcript + "M: [LAUGHTER]\n");
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(PrepareIemocap, TheReleaseLayoutGivesTheDocumentedFourAndSixWayCounts) {
  const auto root = testing::scratch_dir("iemocap");
  write_dialogue(root, 1, "Ses01F_impro01",
                 {{6.29, "F000", "neu", "Excuse me."}, {10.0, "M000", "fru", "Do you have your forms?"}, {12.5, "F001", "xxx", "Yeah."},
                  {15.0, "M001", "ang", "Let me see them."}, {18.0, "F002", "exc", "Is there a problem?"}});
  write_dialogue(root, 1, "Ses01M_script01_1", {{1.0, "M000", "hap", "What a day!"}, {3.0, "F000", "sur", "Really?"}});
  write_dialogue(root, 5, "Ses05F_impro02", {{2.0, "F000", "sad", "He left."}, {4.0, "M000", "neu", "I know."}, {6.0, "F001", "fru", "Why?"}});
  const auto out = testing::scratch_dir("iemocap-out");
  auto r = prepare_iemocap(root, out);
  EXPECT_EQ(r.utterances, 10);
  EXPECT_EQ(r.dialogues, 3);
  // 6-way keeps hap, sad, neu, ang, exc, fru; drops xxx and sur. 4-way merges exc into happy and drops fru too.
  const std::map<std::string, int64_t> six{{"train/neutral", 1}, {"train/frustrated", 1}, {"train/angry", 1}, {"train/excited", 1},
                                           {"train/happy", 1}, {"test/sad", 1}, {"test/neutral", 1}, {"test/frustrated", 1}};
  const std::map<std::string, int64_t> four{{"train/neutral", 1}, {"train/angry", 1}, {"train/happy", 2}, {"test/sad", 1}, {"test/neutral", 1}};
  EXPECT_EQ(r.counts["6-way"], six);
  EXPECT_EQ(r.counts["4-way"], four);
  EXPECT_EQ(r.dropped["6-way"], (std::map<std::string, int64_t>{{"xxx (no majority)", 1}, {"label 'sur'", 1}}));
  EXPECT_EQ(r.dropped["4-way"], (std::map<std::string, int64_t>{{"xxx (no majority)", 1}, {"label 'sur'", 1}, {"label 'fru'", 2}}));
  auto lines = read_lines(out + "/utterances-4.jsonl");
  ASSERT_EQ(lines.size(), 6u);
  // Ses01F_impro01 in time order, numbered over the kept utterances: neu (0), ang (1), exc -> happy (2).
  EXPECT_EQ(lines[0]["sequence"], "Ses01F_impro01");
  EXPECT_EQ(lines[0]["index"], 0);
  EXPECT_EQ(lines[0]["gold"], "neutral");
  EXPECT_EQ(lines[0]["speaker"], "Ses01_F");
  EXPECT_EQ(lines[0]["text"], "Excuse me.");
  EXPECT_EQ(lines[0]["split"], "train");
  EXPECT_EQ(lines[0]["gold_dimensions"]["arousal"], 3.0);
  EXPECT_FALSE(lines[0].contains("dimensions")) << "the annotation is gold, not a model's reference for the LLM";
  EXPECT_EQ(lines[1]["gold"], "angry");
  EXPECT_EQ(lines[1]["index"], 1);
  EXPECT_EQ(lines[1]["speaker"], "Ses01_M");
  EXPECT_EQ(lines[2]["gold"], "happy");
  EXPECT_EQ(lines[2]["text"], "Is there a problem?");
  EXPECT_EQ(lines[5]["split"], "test");
  EXPECT_NE(read_file(out + "/dataset-6.yaml").find("labels: [happy, sad, neutral, angry, excited, frustrated]"), std::string::npos);
  const auto bad = testing::scratch_dir("iemocap-bad");
  write_dialogue(bad, 2, "Ses02F_impro01", {{1.0, "F000", "neu", "Hi."}});
  std::ofstream(fs::path(bad) / "Session2/dialog/EmoEvaluation/Ses02F_impro01.txt", std::ios::app) << "[3.0 - 4.0]\tSes02F_impro01_F001\tneu\n";
  auto message = testing::error_message([&] { prepare_iemocap(bad, out); });
  EXPECT_NE(message.find("Ses02F_impro01.txt:"), std::string::npos) << message;
  EXPECT_NE(message.find("expected '[start - end]<TAB>utterance<TAB>label<TAB>[V, A, D]'"), std::string::npos) << message;
  EXPECT_NE(testing::error_message([&] { prepare_iemocap(testing::scratch_dir("empty"), out); }).find("the IEMOCAP release layout"), std::string::npos);
}

}  // namespace
}  // namespace emotune
