// Checkpoints exported by scripts/export/export_qwen2_vl.py and export_llava_next.py, run through emotune's own
// C++ FrozenVLM, against Hugging Face's Qwen2VLForConditionalGeneration and LlavaNextForConditionalGeneration: the
// goldens of tests/fixtures/qwen2_vl_* and llava_next_* (README.*.md there). Qwen2-VL: square and non-square
// grid, GQA, tied and untied head, both position modes, the sequence builder's M-RoPE positions against HF's
// get_rope_index. LLaVA-NeXT: anyres at two pinpoints, GQA 2:1 and 4:1. The last layer's attention (SEPM reads
// it) against HF's output_attentions for every fixture.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "io/safetensors.h"
#include "masp/sequence.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

struct Golden {
  NamedTensors t;
  int64_t image_token = -1;
};

Golden load_golden(const std::string& fixture, const std::string& mode) {
  auto content = load_safetensors(testing::source_dir() + "/tests/fixtures/" + fixture + "/golden_" + mode + ".safetensors");
  return {content.tensors, std::stoll(content.metadata.at("image_token_id"))};
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got.to(torch::kCPU, torch::kFloat32) - want).abs().max() / want.abs().max()).item<double>();
}

// The golden's rows as emotune sequences: text before the image, the image's features as a Visual part,
// text after; padding left to the builder.
std::vector<SequenceSpec> golden_specs(const Golden& g, const torch::Tensor& features) {
  const auto& ids = g.t.at("input_ids");
  const auto& mask = g.t.at("attention_mask");
  std::vector<SequenceSpec> specs;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    SequenceSpec spec;
    SequencePart before{Segment::Text, {}, {}, false, {}}, after{Segment::Text, {}, {}, false, {}};
    bool seen_image = false;
    for (int64_t s = 0; s < ids.size(1); ++s) {
      if (mask[b][s].item<int64_t>() == 0) continue;
      int64_t id = ids[b][s].item<int64_t>();
      if (id == g.image_token) seen_image = true;
      else (seen_image ? after : before).ids.push_back(id);
    }
    spec.push_back(before);
    spec.push_back({Segment::Visual, {}, features[b], false, {}});
    spec.push_back(after);
    specs.push_back(spec);
  }
  return specs;
}

// (fixture, position mode, device): every golden on every device, cuda skipped (saying so) where there is none.
class HfGolden : public ::testing::TestWithParam<std::tuple<std::string, std::string, std::string>> {
 protected:
  std::unique_ptr<FrozenVLM> load(const std::string& fixture, const std::string& device) {
    return load_frozen_vlm(testing::fixture_bundle(fixture), {torch::Device(device), torch::kFloat32});
  }
  // The golden's input as HF's forward saw it: token embeddings with the image features in place of the
  // image tokens; positions only in mrope mode (plain: the bundle's own cumsum(mask) - 1).
  struct Inputs {
    torch::Tensor features, embeds, positions;
  };
  Inputs golden_inputs(FrozenVLM& vlm, const Golden& g, const std::string& mode) {
    auto features = vlm.encode_image(g.t.at("pixels").to(vlm.device()));
    const auto ids = g.t.at("input_ids").to(vlm.device());
    auto embeds = vlm.embed_tokens(ids);
    embeds.index_put_({ids == g.image_token}, features.reshape({-1, features.size(-1)}));
    return {features, embeds, mode == "mrope" ? g.t.at("position_ids").to(vlm.device()) : torch::Tensor()};
  }
};

TEST_P(HfGolden, ImageFeaturesAndLogitsMatchHuggingFace) {
  const auto& [fixture, mode, device] = GetParam();
  EMOTUNE_SKIP_UNLESS_DEVICE(device);
  auto vlm = load(fixture, device);
  auto g = load_golden(fixture, mode);
  torch::NoGradGuard no_grad;
  auto in = golden_inputs(*vlm, g, mode);
  EXPECT_LT(relative_error(in.features, g.t.at("image_features")), 1e-4) << "encode_image vs HF's image features";
  const auto mask = g.t.at("attention_mask").to(vlm->device());
  auto logits = vlm->forward(in.embeds, mask, in.positions).to(torch::kCPU);
  auto real = g.t.at("attention_mask").to(torch::kBool);
  EXPECT_LT(relative_error(logits.index({real}), g.t.at("logits").index({real})), 1e-4);
}

// SEPM (paper 003) drops visual tokens by the attention they receive: last_attention must be HF's
// output_attentions=True of the last layer, probabilities compared absolutely at every real query row.
TEST_P(HfGolden, LastAttentionMatchesHuggingFacesOutputAttentions) {
  const auto& [fixture, mode, device] = GetParam();
  EMOTUNE_SKIP_UNLESS_DEVICE(device);
  auto vlm = load(fixture, device);
  ASSERT_TRUE(vlm->has_last_attention());
  auto g = load_golden(fixture, mode);
  torch::NoGradGuard no_grad;
  auto in = golden_inputs(*vlm, g, mode);
  auto attention = vlm->last_attention(in.embeds, g.t.at("attention_mask").to(vlm->device()), in.positions).to(torch::kCPU);
  const auto& want = g.t.at("last_attention");
  ASSERT_EQ(attention.sizes(), want.sizes());
  auto real = g.t.at("attention_mask").to(torch::kBool);
  auto delta = (attention.to(torch::kFloat32) - want).abs().transpose(1, 2).index({real});  // [rows, H, S]
  EXPECT_LT(delta.max().item<double>(), 1e-4);
  auto row_sums = attention.to(torch::kFloat32).sum(-1).transpose(1, 2).index({real});  // [rows, H]
  EXPECT_LT((row_sums - 1).abs().max().item<double>(), 1e-5) << "probabilities";
}

// The same logits reached the way training and evaluation reach them: SequenceBuilder lays out the rows
// (left padding, the positions of vlm.positions) and forward_rows projects only the rows asked for.
TEST_P(HfGolden, TheSequenceBuilderReproducesHuggingFacesPositionsAndLogits) {
  const auto& [fixture, mode, device] = GetParam();
  EMOTUNE_SKIP_UNLESS_DEVICE(device);
  auto vlm = load(fixture, device);
  auto g = load_golden(fixture, mode);
  torch::NoGradGuard no_grad;
  LayoutOptions options;
  options.positions = parse_position_mode(mode);
  SequenceBuilder builder(*vlm, options);
  auto batch = builder.assemble(golden_specs(g, vlm->encode_image(g.t.at("pixels").to(vlm->device()))));
  const auto& mask = g.t.at("attention_mask");
  ASSERT_TRUE(torch::equal(batch.attention_mask.to(torch::kCPU), mask)) << "the golden's rows are left-padded as emotune pads";
  auto real = mask.to(torch::kBool);
  if (mode == "mrope") {
    ASSERT_EQ(batch.position_ids.dim(), 3);
    auto hf = g.t.at("position_ids");
    for (int64_t axis = 0; axis < 3; ++axis)
      EXPECT_TRUE(torch::equal(batch.position_ids[axis].to(torch::kCPU).index({real}), hf[axis].index({real}))) << "axis " << axis;
  } else {
    EXPECT_FALSE(batch.model_positions().defined()) << "plain positions are the bundle's own";
  }
  auto logits = vlm->forward_rows(batch.embeds, batch.attention_mask, real.to(vlm->device()), batch.model_positions());
  EXPECT_LT(relative_error(logits, g.t.at("logits").index({real})), 1e-4);
}

std::string golden_case_name(const ::testing::TestParamInfo<HfGolden::ParamType>& info) {
  const auto& [fixture, mode, device] = info.param;
  return fixture + "_" + mode + (device == "cpu" ? "" : "_" + device);  // CPU names as before the device axis
}

INSTANTIATE_TEST_SUITE_P(Qwen2VL, HfGolden,
                         ::testing::Combine(::testing::Values("qwen2_vl_square", "qwen2_vl_wide"),
                                            ::testing::Values("plain", "mrope"), ::testing::ValuesIn(testing::test_devices())),
                         golden_case_name);
// LLaVA-NeXT's Mistral has 1-D RoPE: one golden per fixture, plain positions.
INSTANTIATE_TEST_SUITE_P(LlavaNext, HfGolden,
                         ::testing::Combine(::testing::Values("llava_next_square", "llava_next_wide"), ::testing::Values("plain"),
                                            ::testing::ValuesIn(testing::test_devices())),
                         golden_case_name);

TEST(Qwen2VLBundle, MropeNeedsABundleThatTakesPositions) {
  auto vlm = load_frozen_vlm(testing::tiny_bundle());
  LayoutOptions options;
  options.positions = PositionMode::Mrope;
  try {
    SequenceBuilder builder(*vlm, options);
    FAIL() << "mrope on a bundle without positions.kind: mrope was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("positions.kind"), std::string::npos) << e.what();
  }
}

TEST(Qwen2VLBundle, ExportedBundleHasTheContractsOptionalMethods) {
  auto vlm = load_frozen_vlm(testing::fixture_bundle("qwen2_vl_wide"));
  EXPECT_TRUE(vlm->has_prefix_cache());
  EXPECT_TRUE(vlm->has_last_attention());
  EXPECT_EQ(vlm->spec().positions_kind, "mrope");
  EXPECT_EQ(vlm->spec().image_grid, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(vlm->spec().visual_tokens, 8);
}

// LLaVA-NeXT's bundle: plain positions, T from anyres (1x2 tiles + base, image_newline per row), Mistral's [INST]
// format with no system turn, the SentencePiece-BPE tokenizer.json, and the answer closed by </s>'s id.
TEST(LlavaNextBundle, LaysOutMistralsInstFormat) {
  auto vlm = load_frozen_vlm(testing::fixture_bundle("llava_next_wide"));
  EXPECT_TRUE(vlm->has_prefix_cache());
  EXPECT_EQ(vlm->spec().positions_kind, "plain");
  EXPECT_EQ(vlm->spec().visual_tokens, 16 + 4 * 9);
  EXPECT_EQ(vlm->end_of_turn_id(), 2) << "</s>";
  LayoutOptions options;
  options.system_prompt = "You are a helpful assistant.";
  SequenceBuilder builder(*vlm, options);
  EXPECT_EQ(builder.describe_layout(), "[INST] {aspect tokens}{visual tokens}\\n{soft prompt}{question} [/INST]{answer}</s>");
  const std::string answer = "joy";
  auto spec = builder.image_question({}, torch::zeros({52, 64}), torch::zeros({4, 64}), "How does it feel?", &answer);
  std::string text;
  for (const auto& part : spec) text += part.segment == Segment::Text ? vlm->tokenizer().decode(part.ids) : "|";
  EXPECT_EQ(text, "[INST] |\n|How does it feel? [/INST]|") << "no system prompt: Mistral has no system turn";
  EXPECT_EQ(spec.back().ids.back(), vlm->end_of_turn_id());
}

}  // namespace
}  // namespace emotune
