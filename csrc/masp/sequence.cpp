#include "masp/sequence.h"

#include <torch/torch.h>

#include "core/error.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

const char* segment_name(Segment s) {
  switch (s) {
    case Segment::Text: return "text";
    case Segment::Aspect: return "aspect";
    case Segment::Visual: return "visual";
    case Segment::SoftPrompt: return "soft_prompt";
    case Segment::Label: return "label";
    case Segment::Pad: return "pad";
  }
  return "?";
}

std::string render_emotion_question(const std::string& question, const std::vector<std::string>& labels,
                                    const std::string& style) {
  std::string list;
  for (const auto& l : labels) {
    if (!list.empty()) list += ", ";
    list += style == "python" ? "'" + l + "'" : l;
  }
  if (style == "python") list = "[" + list + "]";
  auto out = question;
  for (size_t at; (at = out.find("{labels}")) != std::string::npos;) out.replace(at, 8, list);
  return out;
}

SequenceBuilder::SequenceBuilder(FrozenVLM& vlm, LayoutOptions options) : vlm_(vlm), options_(std::move(options)) {
  end_of_turn_ = vlm.tokenizer().encode(vlm.spec().chat.end_of_turn).at(0);
}

SequencePart SequenceBuilder::text(const std::string& s) const {
  SequencePart p;
  p.segment = Segment::Text;
  p.ids = vlm_.tokenizer().encode(s);
  return p;
}

SequencePart SequenceBuilder::answer_part(const std::string& answer) const {
  SequencePart p;
  p.segment = Segment::Label;
  p.ids = vlm_.tokenizer().encode(answer);
  if (options_.loss_on_end_of_turn) p.ids.push_back(end_of_turn_);
  p.in_loss = true;
  return p;
}

SequenceSpec SequenceBuilder::layout(const std::vector<SequencePart>& image_span, const torch::Tensor& soft_prompt,
                                     const std::string& question, const std::string* answer) const {
  const auto& chat = vlm_.spec().chat;
  const std::string prefix = chat.system_start + options_.system_prompt + chat.end_of_turn + chat.turn_separator + chat.user_start;
  SequencePart soft;
  if (soft_prompt.defined()) soft = {Segment::SoftPrompt, {}, soft_prompt, false};
  SequenceSpec spec;
  auto add_text = [&](const std::string& s) {
    if (!s.empty()) spec.push_back(text(s));
  };
  if (options_.placement == "reference" && soft_prompt.defined()) {
    add_text(prefix);
    spec.push_back(soft);  // the reference code's first copy, before the image
    add_text(chat.image_open);
  } else {
    add_text(prefix + chat.image_open);
  }
  for (const auto& p : image_span) spec.push_back(p);
  add_text(chat.image_close);
  if (soft_prompt.defined()) spec.push_back(soft);  // Eq. 4: [V_fused; T_soft; T_user]
  add_text(question + chat.end_of_turn + chat.turn_separator + chat.assistant_start);
  if (answer) spec.push_back(answer_part(*answer));
  return spec;
}

SequenceSpec SequenceBuilder::aspect_question(const torch::Tensor& aspect_tokens, const std::string& question,
                                              const std::string* answer) const {
  return layout({{Segment::Aspect, {}, aspect_tokens, false}}, torch::Tensor(), question, answer);
}

SequenceSpec SequenceBuilder::image_question(const torch::Tensor& aspect_tokens, const torch::Tensor& visual,
                                               const torch::Tensor& soft_prompt, const std::string& question,
                                               const std::string* answer) const {
  std::vector<SequencePart> span;  // V_fused = concat(z_1..z_A, V_global), Eq. 3
  if (aspect_tokens.defined()) span.push_back({Segment::Aspect, {}, aspect_tokens, false});
  span.push_back({Segment::Visual, {}, visual, false});
  return layout(span, soft_prompt, question, answer);
}

std::optional<SequenceBuilder::SplitBatch> SequenceBuilder::assemble_split(const std::vector<SequenceSpec>& specs) const {
  std::vector<SequenceSpec> prefixes, rests;
  int64_t prefix_length = -1;
  for (const auto& spec : specs) {
    auto first_soft = std::find_if(spec.begin(), spec.end(), [](const SequencePart& p) { return p.segment == Segment::SoftPrompt; });
    if (first_soft == spec.end() || first_soft == spec.begin()) return std::nullopt;
    SequenceSpec prefix(spec.begin(), first_soft), rest(first_soft, spec.end());
    int64_t n = 0;
    for (const auto& p : prefix) n += p.length();
    if (prefix_length >= 0 && n != prefix_length) return std::nullopt;
    for (const auto& p : prefix)
      if (p.in_loss) return std::nullopt;  // a target inside the prefix would be scored without gradient
    prefix_length = n;
    prefixes.push_back(std::move(prefix));
    rests.push_back(std::move(rest));
  }
  return SplitBatch{assemble(prefixes), assemble(rests, /*pad_right=*/true)};
}

SequenceBatch SequenceBuilder::assemble(const std::vector<SequenceSpec>& specs, bool pad_right) const {
  using torch::indexing::Slice;
  if (specs.empty()) raise("internal: assemble() of an empty batch");
  const int64_t b_size = static_cast<int64_t>(specs.size());
  std::vector<int64_t> lengths;
  int64_t s_len = 0;
  for (const auto& spec : specs) {
    int64_t n = 0;
    for (const auto& p : spec) n += p.length();
    lengths.push_back(n);
    s_len = std::max(s_len, n);
  }
  const int64_t pad = vlm_.spec().pad_id;
  auto ids = torch::full({b_size, s_len}, pad, torch::kInt64);
  auto token_ids = torch::full({b_size, s_len}, -1, torch::kInt64);
  auto mask = torch::zeros({b_size, s_len}, torch::kInt64);
  auto loss = torch::zeros({b_size, s_len}, torch::kBool);
  auto segments = torch::full({b_size, s_len}, static_cast<int64_t>(Segment::Pad), torch::kUInt8);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto tok_a = token_ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  auto loss_a = loss.accessor<bool, 2>();
  auto seg_a = segments.accessor<uint8_t, 2>();
  auto first_column = [&](int64_t b) { return pad_right ? int64_t{0} : s_len - lengths[static_cast<size_t>(b)]; };
  for (int64_t b = 0; b < b_size; ++b) {
    int64_t at = first_column(b);
    for (const auto& p : specs[static_cast<size_t>(b)]) {
      for (int64_t i = 0; i < p.length(); ++i, ++at) {
        if (!p.embeds.defined()) ids_a[b][at] = tok_a[b][at] = p.ids[static_cast<size_t>(i)];
        mask_a[b][at] = 1;
        loss_a[b][at] = p.in_loss;
        seg_a[b][at] = static_cast<uint8_t>(p.segment);
      }
    }
  }
  const auto device = vlm_.device();
  const auto dtype = vlm_.dtype();
  torch::Tensor token_embeds;
  {
    torch::NoGradGuard no_grad;  // the vocabulary is frozen: never a gradient over the embedding matrix
    token_embeds = vlm_.embed_tokens(ids.to(device)).to(dtype);
  }
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < b_size; ++b) {
    int64_t at = first_column(b);
    std::vector<torch::Tensor> pieces;
    if (at > 0) pieces.push_back(token_embeds[b].slice(0, 0, at));
    for (const auto& p : specs[static_cast<size_t>(b)]) {
      int64_t n = p.length();
      pieces.push_back(p.embeds.defined() ? p.embeds.to(device, dtype) : token_embeds[b].slice(0, at, at + n));
      at += n;
    }
    if (at < s_len) pieces.push_back(token_embeds[b].slice(0, at, s_len));  // right padding
    rows.push_back(torch::cat(pieces, 0));
  }
  SequenceBatch out;
  out.embeds = torch::stack(rows, 0);
  out.attention_mask = mask.to(device);
  out.position_ids = (mask.cumsum(1) - 1).clamp_min(0).to(device);
  out.token_ids = token_ids.to(device);
  out.loss_mask = loss.to(device);
  out.segments = segments;
  return out;
}

}  // namespace emotune
