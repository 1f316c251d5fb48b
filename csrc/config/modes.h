// The modes a config chooses between, as enums, and their names — what YAML and --set write — in one table
// per enum (EnumNames). The schema binds them (ConfigSchema::add_enum), so a wrong name is refused where it
// was written, with the nearest valid one; code compares enums, never strings.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace emotune {

// eval.mode: score every label by its log-likelihood, or decode greedily and match the first line.
enum class EvalMode : uint8_t { Rank, Generate };
// masp.prompt_placement: [V_fused; P_soft; query] (paper Eq. 4), or the authors' code's two copies.
enum class PromptPlacement : uint8_t { Paper, Reference };
// masp.label_list_style: {labels} as "a, b, c", or the reference code's "['a', 'b', 'c']".
enum class LabelListStyle : uint8_t { Plain, Python };
// train.loss_reduction: the mean over every answer token of a batch (Hugging Face's causal-LM loss), or the mean
// over samples of each sample's token mean (equal at batch 1, the reference code's setting).
enum class LossReduction : uint8_t { TokenMean, SampleMean };
// vlm.positions: 1-D positions on every M-RoPE axis, or Qwen2-VL's 3-D M-RoPE positions (masp/sequence.h).
enum class PositionMode : uint8_t { Plain, Mrope };
// eval.inference: one query listing every label (MASP's Eq. 4), or SEPM's coarse-to-fine inference (docs/sepm.md).
enum class Inference : uint8_t { Plain, Sepm };
// sepm.variance: Eq. 4's confidence from (pA, pB): the paper's population variance (pA - pB)^2 / 4, or the authors'
// code's unbiased variance (pA - pB)^2 / 2.
enum class SepmVariance : uint8_t { Paper, Code };
// sepm.drop_over: the tokens SEPM's Focus-on-Emotion drop chooses from: the visual tokens (paper), or the aspect
// tokens as well when the model feeds them (V+A+S).
enum class SepmDropOver : uint8_t { Visual, VisualAndAspects };

template <typename E>
struct EnumNames;
template <>
struct EnumNames<EvalMode> {
  static constexpr std::pair<const char*, EvalMode> table[] = {{"rank", EvalMode::Rank}, {"generate", EvalMode::Generate}};
};
template <>
struct EnumNames<PromptPlacement> {
  static constexpr std::pair<const char*, PromptPlacement> table[] = {{"paper", PromptPlacement::Paper},
                                                                      {"reference", PromptPlacement::Reference}};
};
template <>
struct EnumNames<LabelListStyle> {
  static constexpr std::pair<const char*, LabelListStyle> table[] = {{"plain", LabelListStyle::Plain},
                                                                     {"python", LabelListStyle::Python}};
};
template <>
struct EnumNames<LossReduction> {
  static constexpr std::pair<const char*, LossReduction> table[] = {{"token_mean", LossReduction::TokenMean},
                                                                    {"sample_mean", LossReduction::SampleMean}};
};
template <>
struct EnumNames<PositionMode> {
  static constexpr std::pair<const char*, PositionMode> table[] = {{"plain", PositionMode::Plain}, {"mrope", PositionMode::Mrope}};
};

template <>
struct EnumNames<Inference> {
  static constexpr std::pair<const char*, Inference> table[] = {{"plain", Inference::Plain}, {"sepm", Inference::Sepm}};
};
template <>
struct EnumNames<SepmVariance> {
  static constexpr std::pair<const char*, SepmVariance> table[] = {{"paper", SepmVariance::Paper}, {"code", SepmVariance::Code}};
};
template <>
struct EnumNames<SepmDropOver> {
  static constexpr std::pair<const char*, SepmDropOver> table[] = {{"visual", SepmDropOver::Visual},
                                                                   {"visual_and_aspects", SepmDropOver::VisualAndAspects}};
};

template <typename E>
const char* name_of(E value) {
  for (const auto& [name, v] : EnumNames<E>::table)
    if (v == value) return name;
  return "?";
}

template <typename E>
std::optional<E> enum_from_name(const std::string& name) {
  for (const auto& [n, v] : EnumNames<E>::table)
    if (name == n) return v;
  return std::nullopt;
}

template <typename E>
std::vector<std::string> enum_names() {
  std::vector<std::string> out;
  for (const auto& [name, v] : EnumNames<E>::table) out.push_back(name);
  return out;
}

}  // namespace emotune
