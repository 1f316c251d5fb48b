#include "eval/sepm_inference.h"

#include <torch/torch.h>

#include <cmath>

#include "config/config.h"
#include "core/error.h"
#include "eval/decode.h"
#include "eval/sepm.h"
#include "masp/emotion_model.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

SepmOptions sepm_options(const EmotuneConfig& c) {
  return {c.sepm.alpha, c.sepm.beta, c.sepm.variance, c.sepm.drop_over, c.sepm.ambiguity_note, c.eval.mode, c.eval.max_new_tokens};
}

nlohmann::json SepmTrace::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json options = nlohmann::json::array();
  for (size_t k = 0; k < kept.size(); ++k)
    if (kept[k]) options.push_back(labels.at(k));
  nlohmann::json j = {{"p_a", p_a}, {"p_b", p_b}, {"confidence", confidence}, {"polarity", polarity_name(polarity)},
                      {"confident", confident}, {"options", options}, {"dropped_visual", dropped_visual},
                      {"answer", answer}, {"valid", label >= 0}};
  if (!dropped_aspects.empty() || !aspect_scores.empty()) j["dropped_aspects"] = dropped_aspects;
  if (!visual_scores.empty()) j["visual_scores"] = visual_scores, j["visual_grid"] = visual_grid;
  if (!aspect_scores.empty()) j["aspect_scores"] = aspect_scores;
  if (!letter_log_probs.empty()) j["letter_log_probs"] = letter_log_probs;
  return j;
}

std::vector<int64_t> focus_on_emotion_columns(const SequenceSpec& spec, const Tokenizer& tokenizer, int64_t first_column) {
  const std::string sentence = kFocusOnEmotion;
  const auto first_word = sentence.find(' ');  // the code's rows leave out "Please"
  int64_t column = first_column;
  for (const auto& part : spec) {
    if (part.segment != Segment::Text || part.ids.empty()) {
      column += part.length();
      continue;
    }
    const std::string text = tokenizer.decode(part.ids);
    const auto at = text.find(sentence);
    if (at == std::string::npos) {
      column += part.length();
      continue;
    }
    // Token j spans [end of tokens 0..j-1, end of tokens 0..j) of the decoded text; it is a row when that span
    // overlaps the sentence after its first word (a byte-level or SentencePiece piece may carry the space before it).
    const size_t from = at + first_word, to = at + sentence.size();
    std::vector<int64_t> rows;
    size_t start = 0;
    for (size_t j = 0; j < part.ids.size() && start < to; ++j) {
      const size_t end = tokenizer.decode({part.ids.begin(), part.ids.begin() + static_cast<std::ptrdiff_t>(j) + 1}).size();
      if (start < to && end > from && end > start) rows.push_back(column + static_cast<int64_t>(j));
      start = std::max(start, end);
    }
    if (rows.empty()) raise("SEPM: no token of '", sentence.substr(first_word + 1), "' found in the coarse query's tokens");
    return rows;
  }
  raise("SEPM: the coarse sequence has no text part holding '", sentence, "'");
}

SepmPredictor::SepmPredictor(const EmotionModel& model, SepmOptions options)
    : model_(model), options_(options), coarse_question_(sepm_coarse_question(model.labels)) {
  if (options_.beta > 0 && !model.vlm->has_last_attention())
    raise(model.vlm->spec().path("bundle.yaml"), ": SEPM's token drop reads the last layer's attention, and this bundle has no "
          "last_attention method (optional; docs/bundle.md). Re-export the bundle with it, or set sepm.beta: 0 to run SEPM without the drop");
  if (model.labels.size() > 26) raise("SEPM letters its options A-Z: data.labels has ", model.labels.size(), " labels");
  for (size_t k = 0; k < model.labels.size(); ++k) {
    const std::string letter(1, static_cast<char>('A' + k));
    auto ids = model.vlm->tokenizer().encode(letter);
    if (ids.size() != 1) {
      std::string pieces;
      for (auto id : ids) pieces += (pieces.empty() ? "'" : ", '") + model.vlm->tokenizer().piece(id) + "'";
      raise(model.vlm->spec().path("bundle.yaml"), ": SEPM reads the option letter '", letter, "' as one token (Eq. 3's p_A, p_B), and this "
            "tokenizer encodes it as ", ids.size(), " (", pieces, ")");
    }
    letter_ids_.push_back(ids[0]);
  }
}

torch::Tensor SepmPredictor::prompt_of(const std::vector<torch::Tensor>& prompts, size_t i) const {
  return prompts.empty() || !prompts[i].defined() ? model_.soft_prompt : prompts[i];
}

std::vector<SequenceSpec> SepmPredictor::coarse_specs(const torch::Tensor& visual, const torch::Tensor& aspects,
                                                      const std::vector<torch::Tensor>& prompts) const {
  std::vector<SequenceSpec> specs;
  for (int64_t i = 0; i < visual.size(0); ++i)
    specs.push_back(model_.builder->image_question(aspects.defined() ? aspects[i] : torch::Tensor(), visual[i],
                                                   prompt_of(prompts, static_cast<size_t>(i)), coarse_question_, nullptr));
  return specs;
}

namespace {

// Log-probabilities [n, V] of the token after each sequence (left padding puts every last token in the last column).
torch::Tensor next_token_log_probs(FrozenVLM& vlm, const SequenceBatch& batch) {
  auto last = torch::zeros({batch.size(), batch.embeds.size(1)}, torch::kBool);
  last.select(1, batch.embeds.size(1) - 1).fill_(true);
  auto logits = vlm.forward_rows(batch.embeds, batch.attention_mask, last, batch.model_positions());
  return torch::log_softmax(logits.to(torch::kFloat64), -1).to(torch::kCPU);  // Eq. 3: over the whole vocabulary
}

std::vector<int64_t> columns_of(const torch::Tensor& segments_row, Segment segment) {
  std::vector<int64_t> out;
  auto s = segments_row.contiguous();
  for (int64_t t = 0; t < s.size(0); ++t)
    if (s[t].item<uint8_t>() == static_cast<uint8_t>(segment)) out.push_back(t);
  return out;
}

std::vector<int64_t> grid_of(const BundleSpec& spec, int64_t tokens) {
  if (spec.image_grid.size() == 2 && spec.image_grid[0] * spec.image_grid[1] == tokens) return spec.image_grid;
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens))));
  if (side * side == tokens) return {side, side};
  return {};
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// The tokens of `part` [n, D] whose indices are not in `dropped` (ascending), and their indices.
torch::Tensor kept_rows(const torch::Tensor& part, const std::vector<int64_t>& dropped, std::vector<int64_t>& kept) {
  kept.clear();
  size_t d = 0;
  for (int64_t i = 0; i < part.size(0); ++i) {
    if (d < dropped.size() && dropped[d] == i) ++d;
    else kept.push_back(i);
  }
  return part.index_select(0, torch::tensor(kept, torch::kInt64).to(part.device()));
}

}  // namespace

std::vector<SepmTrace> SepmPredictor::coarse_pass(const std::vector<SequenceSpec>& specs) const {
  FrozenVLM& vlm = *model_.vlm;
  auto batch = model_.builder->assemble(specs);
  auto log_probs = next_token_log_probs(vlm, batch);
  torch::Tensor attention;  // [n,H,S,S], Eq. 5
  if (options_.beta > 0) attention = vlm.last_attention(batch.embeds, batch.attention_mask, batch.model_positions()).to(torch::kCPU);
  auto segments = batch.segments.to(torch::kCPU);
  auto mask = batch.attention_mask.to(torch::kCPU);
  const int64_t a_id = letter_ids_[0], b_id = letter_ids_[1];
  std::vector<SepmTrace> traces(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& t = traces[i];
    const auto b = static_cast<int64_t>(i);
    t.p_a = std::exp(log_probs[b][a_id].item<double>()), t.p_b = std::exp(log_probs[b][b_id].item<double>());
    t.confidence = sepm_confidence(t.p_a, t.p_b, options_.variance);
    t.polarity = t.p_a >= t.p_b ? Polarity::Positive : Polarity::Negative;
    t.confident = t.confidence > options_.alpha;  // Algorithm 1: C > alpha keeps one polarity's options
    t.kept = sepm_fine_options(model_.labels, t.polarity, t.confident);
    if (!attention.defined()) continue;
    const int64_t first_column = batch.embeds.size(1) - mask[b].sum().item<int64_t>();
    const auto rows = focus_on_emotion_columns(specs[i], vlm.tokenizer(), first_column);
    const auto visual = columns_of(segments[b], Segment::Visual);
    auto aspects = options_.drop_over == SepmDropOver::VisualAndAspects ? columns_of(segments[b], Segment::Aspect) : std::vector<int64_t>{};
    std::vector<int64_t> candidates = aspects;  // the aspect tokens precede V_global in the image span (Eq. 3)
    candidates.insert(candidates.end(), visual.begin(), visual.end());
    auto scores = sepm_visual_scores(attention[b], rows, candidates);  // Eq. 6-8
    if (!torch::isfinite(scores).all().item<bool>())
      raise("SEPM: the bundle's last_attention gave a non-finite score for image ", i, " of the batch (", vlm.spec().path("bundle.yaml"), ")");
    const auto n_aspects = static_cast<int64_t>(aspects.size());
    t.aspect_scores = to_vector(scores.slice(0, 0, n_aspects));
    t.visual_scores = to_vector(scores.slice(0, n_aspects));
    t.visual_grid = grid_of(vlm.spec(), static_cast<int64_t>(visual.size()));
    for (auto j : sepm_least_attended(scores, options_.beta))  // Eq. 9
      (j < n_aspects ? t.dropped_aspects : t.dropped_visual).push_back(j < n_aspects ? j : j - n_aspects);
    if (t.dropped_visual.size() == visual.size())
      raise("SEPM: sepm.beta ", options_.beta, " over ", candidates.size(), " aspect and visual tokens drops all ", visual.size(),
            " visual tokens of image ", i, " of the batch; lower sepm.beta");
  }
  return traces;
}

std::vector<SequenceSpec> SepmPredictor::fine_specs(const torch::Tensor& visual, const torch::Tensor& aspects,
                                                    const std::vector<SepmTrace>& traces, const std::vector<torch::Tensor>& prompts) const {
  std::vector<SequenceSpec> specs;
  for (size_t i = 0; i < traces.size(); ++i) {
    const auto& t = traces[i];
    const auto b = static_cast<int64_t>(i);
    std::vector<int64_t> kept_visual, kept_aspects;
    auto v = kept_rows(visual[b], t.dropped_visual, kept_visual);  // Eq. 10: V' without the dropped tokens
    auto a = aspects.defined() ? kept_rows(aspects[b], t.dropped_aspects, kept_aspects) : torch::Tensor();
    auto question = sepm_fine_question(model_.labels, t.kept, !t.confident && options_.ambiguity_note);
    auto spec = model_.builder->image_question(a, v, prompt_of(prompts, i), question, nullptr);
    if (!t.dropped_visual.empty())
      for (auto& part : spec)
        if (part.segment == Segment::Visual) part.grid_cells = kept_visual;
    specs.push_back(std::move(spec));
  }
  return specs;
}

void SepmPredictor::fine_pass(const std::vector<SequenceSpec>& specs, std::vector<SepmTrace>& traces) const {
  if (options_.answer == EvalMode::Generate) {  // the code's protocol: one letter, anything else is invalid
    auto texts = generate_greedy(*model_.vlm, *model_.builder, specs, options_.max_new_tokens);
    for (size_t i = 0; i < traces.size(); ++i) {
      traces[i].answer = texts[i];
      traces[i].label = sepm_answer_label(texts[i], traces[i].kept);
    }
    return;
  }
  auto log_probs = next_token_log_probs(*model_.vlm, model_.builder->assemble(specs));
  for (size_t i = 0; i < traces.size(); ++i) {
    auto& t = traces[i];
    t.letter_log_probs.clear();
    for (size_t k = 0; k < letter_ids_.size(); ++k) {
      t.letter_log_probs.push_back(log_probs[static_cast<int64_t>(i)][letter_ids_[k]].item<float>());
      if (t.kept[k] && (t.label < 0 || t.letter_log_probs[k] > t.letter_log_probs[static_cast<size_t>(t.label)])) t.label = static_cast<int64_t>(k);
    }
    t.answer = std::string(1, static_cast<char>('A' + t.label));
  }
}

std::vector<SepmTrace> SepmPredictor::predict(const torch::Tensor& visual, const torch::Tensor& aspects,
                                              const std::vector<torch::Tensor>& prompts) const {
  torch::NoGradGuard no_grad;
  if (!prompts.empty() && prompts.size() != static_cast<size_t>(visual.size(0)))
    raise("internal: ", prompts.size(), " soft prompts for ", visual.size(0), " images");
  auto traces = coarse_pass(coarse_specs(visual, aspects, prompts));
  fine_pass(fine_specs(visual, aspects, traces, prompts), traces);
  return traces;
}

}  // namespace emotune
