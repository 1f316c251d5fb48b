// SentencePiece models with the dummy prefix (most LLM tokenizers: LLaMA, Mistral) as bundle tokenizers:
// chat markers and control tokens are looked up as ids, never through the dummy-prefixed text encoder
// (issue 34, finding 7).
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "core/atomic_file.h"
#include "masp/sequence.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

#include <gtest/gtest.h>

namespace emotune {
namespace {
namespace fs = std::filesystem;

// The tiny bundle with its tokenizer retrained the way LLaMA/Mistral's were: spm_train's default dummy prefix,
// <s> and </s> as control pieces, the chat markers as user-defined pieces.
std::string bundle_with_dummy_prefix_tokenizer(const std::string& name, const std::string& end_of_turn) {
  auto dir = testing::scratch_dir(name);
  fs::remove_all(dir);
  fs::copy(testing::tiny_bundle(), dir, fs::copy_options::recursive);
  std::string corpus;
  for (int i = 0; i < 40; ++i)
    corpus += "How bright is the image? The scene shows a beach with a dog and a ball.\n"
              "Which emotion does the image evoke: amusement, awe, contentment, excitement, anger, fear?\n";
  write_file_atomic(dir + "/corpus.txt", corpus);
  const std::string command = "spm_train --input=" + dir + "/corpus.txt --model_prefix=" + dir +
                              "/tokenizer --vocab_size=200 --model_type=bpe --hard_vocab_limit=false "
                              "--unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 "
                              "--user_defined_symbols='<|im_start|>,<|im_end|>,<|vision_start|>,<|vision_end|>' "
                              "--minloglevel=2 > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  auto yaml = read_file(dir + "/bundle.yaml");
  yaml = std::regex_replace(yaml, std::regex("end_of_turn: \"<\\|im_end\\|>\""), "end_of_turn: \"" + end_of_turn + "\"");
  write_file_atomic(dir + "/bundle.yaml", yaml);
  return dir;
}

TEST(SentencePieceSpecials, DummyPrefixModelLoadsWithMarkersAsTheirIds) {
  auto vlm = load_frozen_vlm(bundle_with_dummy_prefix_tokenizer("spm_dummy_prefix", "<|im_end|>"));
  const auto& tok = vlm->tokenizer();
  auto im_start = tok.special_token_id("<|im_start|>"), im_end = tok.special_token_id("<|im_end|>");
  ASSERT_TRUE(im_start && im_end);
  EXPECT_EQ(tok.piece(*im_end), "<|im_end|>");
  EXPECT_EQ(vlm->end_of_turn_id(), *im_end);
  EXPECT_EQ(tok.piece(tok.encode("How").front()).rfind("\xe2\x96\x81", 0), 0u) << "this model has a dummy prefix";
  EXPECT_EQ(tok.encode("<|im_end|>"), std::vector<int64_t>{*im_end}) << "and a marker alone is still its one id";
  EXPECT_FALSE(tok.special_token_id("How")) << "ordinary text is not a special token";

  // A prompt: markers are their ids, with no stray "▁" before them; the text between is ordinary pieces.
  auto ids = tok.encode("<|im_start|>user\nHow bright is the image?<|im_end|>");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), *im_start);
  EXPECT_EQ(ids.back(), *im_end);
  EXPECT_NE(tok.piece(ids[ids.size() - 2]), "\xe2\x96\x81") << "a lone dummy-prefix piece before the marker";

  // The answer's loss target ends with the marker's id, as the model was trained.
  SequenceBuilder builder(*vlm, LayoutOptions{});
  const std::string answer = "awe";
  auto spec = builder.image_question({}, torch::zeros({vlm->spec().visual_tokens, vlm->spec().hidden_size}), {},
                                     "Which emotion?", &answer);
  EXPECT_EQ(spec.back().ids.back(), *im_end);
}

// Mistral's end of turn is "</s>", a control piece that SentencePiece never produces from text at all.
TEST(SentencePieceSpecials, ControlPieceAsEndOfTurn) {
  auto vlm = load_frozen_vlm(bundle_with_dummy_prefix_tokenizer("spm_control_eot", "</s>"));
  EXPECT_EQ(vlm->end_of_turn_id(), 2);
  EXPECT_EQ(vlm->tokenizer().encode("awe</s>").back(), 2);
  EXPECT_EQ(vlm->tokenizer().special_token_id("<s>"), std::optional<int64_t>(1));
}

}  // namespace
}  // namespace emotune
