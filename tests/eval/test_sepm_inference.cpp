// SEPM's two passes on real bundles (eval/sepm_inference.h): a batch decides what each image alone decides; with no
// drop and every coarse answer ambiguous, the fine pass is the plain multiple-choice question; the drop removes the
// tokens the FoE rows attend least, found in each tokenizer's own pieces; M-RoPE keeps a kept token's grid cell.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "eval/decode.h"
#include "eval/sepm.h"
#include "eval/sepm_inference.h"
#include "masp/stages.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

struct SepmFixture {
  EmotuneConfig config;
  std::unique_ptr<FrozenVLM> vlm;
  std::unique_ptr<ImageFeatures> images;
  EmotionModel model;
  torch::Tensor visual, aspects;
};

// A V+A+S model with random aspect modules and a soft prompt strong enough to matter, over `n` images of a small
// world, on `bundle` (the tiny bundle when empty).
std::unique_ptr<SepmFixture> fixture(int64_t n, const std::string& bundle = "", bool mrope = false) {
  auto f = std::make_unique<SepmFixture>();
  f->config = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
  if (!bundle.empty()) f->config.bundle = testing::fixture_bundle(bundle);
  if (mrope) f->config.vlm.positions = PositionMode::Mrope;
  f->config.masp.use_aspects = true;
  f->vlm = open_bundle(f->config);
  f->config.masp.aspects_checkpoint = testing::random_aspects_checkpoint(f->config, f->vlm->spec().hidden_size);
  f->images = open_split(*f->vlm, f->config, "train");
  f->model = make_emotion_model(*f->vlm, f->config, "", EmotionModelParts::aspects_random_prompt());
  f->model.soft_prompt = (f->model.soft_prompt * 3).detach();
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(i);
  f->visual = f->images->visual(ids);
  f->aspects = f->model.aspect_tokens(f->visual);
  return f;
}

void expect_same_decisions(const SepmTrace& batched, const SepmTrace& alone) {
  EXPECT_NEAR(batched.p_a, alone.p_a, 1e-5);
  EXPECT_NEAR(batched.p_b, alone.p_b, 1e-5);
  EXPECT_EQ(batched.kept, alone.kept);
  EXPECT_EQ(batched.dropped_visual, alone.dropped_visual);
  EXPECT_EQ(batched.dropped_aspects, alone.dropped_aspects);
  ASSERT_EQ(batched.visual_scores.size(), alone.visual_scores.size());
  for (size_t j = 0; j < alone.visual_scores.size(); ++j) EXPECT_NEAR(batched.visual_scores[j], alone.visual_scores[j], 1e-5);
  EXPECT_EQ(batched.label, alone.label);
  EXPECT_EQ(batched.answer, alone.answer);
  ASSERT_EQ(batched.letter_log_probs.size(), alone.letter_log_probs.size());
  for (size_t k = 0; k < alone.letter_log_probs.size(); ++k) EXPECT_NEAR(batched.letter_log_probs[k], alone.letter_log_probs[k], 1e-4);
}

TEST(SepmInference, ABatchDecidesWhatEachImageAloneDecides) {
  auto f = fixture(5);
  for (EvalMode answer : {EvalMode::Rank, EvalMode::Generate}) {
    SCOPED_TRACE(name_of(answer));
    SepmOptions o;
    o.beta = 0.25, o.drop_over = SepmDropOver::VisualAndAspects, o.answer = answer;
    o.alpha = 1e-4;  // some coarse answers confident, so both branches' queries (of unequal lengths) share a batch
    SepmPredictor sepm(f->model, o);
    // Soft prompts of different lengths (as users' own prompts may be): the coarse sequences are left-padded, so the
    // FoE rows and visual columns of each row sit at their own offsets.
    std::vector<torch::Tensor> prompts;
    for (int64_t i = 0; i < 5; ++i) prompts.push_back(f->model.soft_prompt.slice(0, 0, 1 + i));
    auto batched = sepm.predict(f->visual, f->aspects, prompts);
    ASSERT_EQ(batched.size(), 5u);
    for (int64_t i = 0; i < 5; ++i) {
      SCOPED_TRACE(i);
      auto alone = sepm.predict(f->visual.slice(0, i, i + 1), f->aspects.slice(0, i, i + 1), {prompts[static_cast<size_t>(i)]});
      expect_same_decisions(batched[static_cast<size_t>(i)], alone.at(0));
      // floor(0.25 x (6 aspect + 16 visual tokens)) = 5 tokens dropped, from both parts together.
      EXPECT_EQ(batched[static_cast<size_t>(i)].dropped_visual.size() + batched[static_cast<size_t>(i)].dropped_aspects.size(), 5u);
    }
  }
}

// beta = 0 drops nothing and alpha = 1 is above every confidence (Eq. 4 is at most 1/4): every image is asked the
// question listing every option, which must score as label ranking of the letters on that question does.
TEST(SepmInference, WithoutDropAndAlwaysAmbiguousTheFinePassIsThePlainMultipleChoiceQuestion) {
  auto f = fixture(4);
  f->config.masp.loss_on_end_of_turn = false;  // the candidates' scores are then log p(letter) alone
  f->model.builder = std::make_unique<SequenceBuilder>(*f->vlm, layout_options(f->config));
  SepmOptions o;
  o.beta = 0, o.alpha = 1, o.ambiguity_note = false;
  const std::vector<bool> all(f->model.labels.size(), true);
  const auto question = sepm_fine_question(f->model.labels, all, false);
  std::vector<SequenceSpec> plain;
  std::vector<std::string> letters;
  for (size_t k = 0; k < f->model.labels.size(); ++k) letters.push_back(std::string(1, static_cast<char>('A' + k)));
  for (int64_t i = 0; i < 4; ++i) plain.push_back(f->model.builder->image_question(f->aspects[i], f->visual[i], f->model.soft_prompt, question, nullptr));
  auto scores = score_candidates(*f->vlm, *f->model.builder, plain, letters, 64);
  auto traces = SepmPredictor(f->model, o).predict(f->visual, f->aspects);
  for (int64_t i = 0; i < 4; ++i) {
    const auto& t = traces[static_cast<size_t>(i)];
    EXPECT_FALSE(t.confident);
    EXPECT_EQ(t.kept, all);
    EXPECT_TRUE(t.dropped_visual.empty());
    EXPECT_EQ(t.label, scores[i].argmax().item<int64_t>());
    for (size_t k = 0; k < letters.size(); ++k) EXPECT_NEAR(t.letter_log_probs[k], scores[i][static_cast<int64_t>(k)].item<float>(), 1e-4);
  }
  o.answer = EvalMode::Generate;
  auto generated = generate_greedy(*f->vlm, *f->model.builder, plain, o.max_new_tokens);
  traces = SepmPredictor(f->model, o).predict(f->visual, f->aspects);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(traces[i].answer, generated[i]);
    EXPECT_EQ(traces[i].label, sepm_answer_label(generated[i], all));
  }
}

// The drop matrix's rows are the FoE tokens after "Please" in the bundle's own tokenization; the dropped tokens are
// the least attended (Eq. 6-9 on the coarse pass's last_attention) and absent from the fine pass, where the others
// keep their order; under M-RoPE each kept token keeps its (h, w) cell of the grid.
void expect_drop_on(const std::string& bundle, bool mrope) {
  SCOPED_TRACE(bundle);
  auto f = fixture(1, bundle, mrope);
  SepmOptions o;
  o.beta = 0.3;
  SepmPredictor sepm(f->model, o);
  auto coarse = sepm.coarse_specs(f->visual, f->aspects);
  auto batch = f->model.builder->assemble(coarse);
  const auto rows = focus_on_emotion_columns(coarse[0], f->vlm->tokenizer(), 0);
  std::vector<int64_t> row_ids;
  for (auto r : rows) row_ids.push_back(batch.token_ids[0][r].item<int64_t>());
  auto decoded = f->vlm->tokenizer().decode(row_ids);
  EXPECT_EQ(decoded.substr(decoded.find_first_not_of(' ')), "focus on emotion.");
  std::vector<int64_t> visual;
  for (int64_t t = 0; t < batch.segments.size(1); ++t)
    if (batch.segments[0][t].item<uint8_t>() == static_cast<uint8_t>(Segment::Visual)) visual.push_back(t);
  auto attention = f->vlm->last_attention(batch.embeds, batch.attention_mask, batch.model_positions())[0];
  auto expected = sepm_drop_set(attention, rows, visual, o.beta);
  auto traces = sepm.predict(f->visual, f->aspects);
  const auto n = static_cast<int64_t>(visual.size());
  EXPECT_EQ(static_cast<int64_t>(traces[0].dropped_visual.size()), static_cast<int64_t>(0.3 * static_cast<double>(n)));
  EXPECT_EQ(traces[0].dropped_visual, expected);
  auto fine = f->model.builder->assemble(sepm.fine_specs(f->visual, f->aspects, traces));
  std::vector<int64_t> kept, fine_visual;
  for (int64_t j = 0; j < n; ++j)
    if (std::find(expected.begin(), expected.end(), j) == expected.end()) kept.push_back(j);
  for (int64_t t = 0; t < fine.segments.size(1); ++t)
    if (fine.segments[0][t].item<uint8_t>() == static_cast<uint8_t>(Segment::Visual)) fine_visual.push_back(t);
  ASSERT_EQ(fine_visual.size(), kept.size());
  for (size_t j = 0; j < kept.size(); ++j) {
    EXPECT_TRUE(torch::equal(fine.embeds[0][fine_visual[j]], batch.embeds[0][visual[static_cast<size_t>(kept[j])]])) << j;
    if (!mrope) continue;
    for (int64_t axis = 1; axis < 3; ++axis)  // (t, h, w) relative to the image's first token: the cell's own
      EXPECT_EQ(fine.position_ids[axis][0][fine_visual[j]].item<int64_t>() - fine.position_ids[0][0][fine_visual[j]].item<int64_t>(),
                batch.position_ids[axis][0][visual[static_cast<size_t>(kept[j])]].item<int64_t>() -
                    batch.position_ids[0][0][visual[static_cast<size_t>(kept[j])]].item<int64_t>());
  }
  if (!mrope) {  // plain: contiguous positions, as the code renumbers them
    auto positions = fine.position_ids[0];
    EXPECT_TRUE(torch::equal(positions, torch::arange(positions.size(0), positions.options())));
  }
}

TEST(SepmInference, TheDropRemovesTheLeastAttendedTokensOfEveryBundle) {
  expect_drop_on("", false);
  expect_drop_on("qwen2_vl_wide", true);
  expect_drop_on("qwen2_vl_wide", false);
  // The LLaVA-NeXT fixture's tokenizer (a small random vocabulary) has no piece '▁A': Eq. 3 has no one token to read,
  // and SEPM says so instead of scoring a shared '▁' (Mistral's own vocabulary has the letters as pieces).
  auto f = fixture(1, "llava_next_square");
  const auto message = testing::error_message([&] { SepmPredictor(f->model, SepmOptions{}); });
  EXPECT_NE(message.find("SEPM reads the option letter 'A' as one token (Eq. 3's p_A, p_B), and this tokenizer encodes it as 2"),
            std::string::npos) << message;
}

// A bundle without last_attention: the predictor refuses it at construction, naming the bundle and the way out.
class WithoutLastAttention : public FrozenVLM {
 public:
  explicit WithoutLastAttention(FrozenVLM& inner) : inner_(inner) {
    spec_ = inner.spec();
    tokenizer_ = load_sentencepiece_tokenizer(spec_.path(spec_.tokenizer_file));
    end_of_turn_id_ = inner.end_of_turn_id();
  }
  torch::Tensor encode_image(const torch::Tensor& pixels) override { return inner_.encode_image(pixels); }
  torch::Tensor embed_tokens(const torch::Tensor& ids) override { return inner_.embed_tokens(ids); }
  torch::Tensor forward(const torch::Tensor& e, const torch::Tensor& m, const torch::Tensor& p) override { return inner_.forward(e, m, p); }

 private:
  FrozenVLM& inner_;
};

TEST(SepmInference, ABundleWithoutLastAttentionIsRefusedUnlessNothingIsDropped) {
  auto f = fixture(2);
  WithoutLastAttention bare(*f->vlm);
  f->model.vlm = &bare;
  f->model.builder = std::make_unique<SequenceBuilder>(bare, layout_options(f->config));
  const auto message = testing::error_message([&] { SepmPredictor(f->model, SepmOptions{}); });
  EXPECT_NE(message.find("bundle.yaml: SEPM's token drop reads the last layer's attention"), std::string::npos) << message;
  EXPECT_NE(message.find("sepm.beta: 0"), std::string::npos) << message;
  SepmOptions no_drop;
  no_drop.beta = 0;
  EXPECT_EQ(SepmPredictor(f->model, no_drop).predict(f->visual, f->aspects).size(), 2u);
}

}  // namespace
}  // namespace emotune
