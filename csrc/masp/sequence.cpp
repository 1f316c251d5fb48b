#include "masp/sequence.h"

#include <torch/torch.h>

#include <algorithm>

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
                                    LabelListStyle style) {
  std::string list;
  for (const auto& l : labels) {
    if (!list.empty()) list += ", ";
    list += style == LabelListStyle::Python ? "'" + l + "'" : l;
  }
  if (style == LabelListStyle::Python) list = "[" + list + "]";
  auto out = question;
  for (size_t at; (at = out.find("{labels}")) != std::string::npos;) out.replace(at, 8, list);
  return out;
}

PositionMode parse_position_mode(const std::string& name) {
  if (auto mode = enum_from_name<PositionMode>(name)) return *mode;
  raise("config key 'vlm.positions': '", name, "' is not a position mode (expected plain or mrope)");
}

SequenceBuilder::SequenceBuilder(FrozenVLM& vlm, LayoutOptions options) : vlm_(vlm), options_(std::move(options)) {
  end_of_turn_ = vlm.end_of_turn_id();
  if (options_.positions == PositionMode::Mrope && vlm.spec().positions_kind != "mrope")
    raise("config key 'vlm.positions' is mrope, but ", vlm.spec().path("bundle.yaml"), " has positions.kind '",
          vlm.spec().positions_kind, "' (its model takes no 3-D positions; use vlm.positions: plain)");
}

torch::Tensor SequenceBuilder::positions_of(const SequenceSpec& spec, int64_t start) const {
  int64_t length = 0;
  for (const auto& p : spec) length += p.length();
  const bool mrope = options_.positions == PositionMode::Mrope;
  auto out = torch::empty({mrope ? 3 : 1, length}, torch::kInt64);
  auto a = out.accessor<int64_t, 2>();
  int64_t next = start, at = 0;
  for (const auto& p : spec) {
    if (mrope && p.segment == Segment::Visual) {
      const auto& grid = vlm_.spec().image_grid;  // [rows, columns] of the merged grid
      const bool subset = !p.grid_cells.empty();
      if (subset ? static_cast<int64_t>(p.grid_cells.size()) != p.length() || p.grid_cells.back() >= grid[0] * grid[1]
                 : p.length() != grid[0] * grid[1])
        raise("vlm.positions: mrope needs the visual tokens of one whole image (", grid[0], "x", grid[1], " = ",
              grid[0] * grid[1], ", bundle.yaml positions.image_grid) or their grid cells, got ", p.length(), " tokens and ",
              p.grid_cells.size(), " cells");
      for (int64_t i = 0; i < p.length(); ++i, ++at) {
        const int64_t cell = subset ? p.grid_cells[static_cast<size_t>(i)] : i;
        a[0][at] = next;
        a[1][at] = next + cell / grid[1];
        a[2][at] = next + cell % grid[1];
      }
      next += std::max(grid[0], grid[1]);  // text resumes after the largest grid index, as HF's get_rope_index
      continue;
    }
    for (int64_t i = 0; i < p.length(); ++i, ++at, ++next)
      for (int64_t axis = 0; axis < out.size(0); ++axis) a[axis][at] = next;
  }
  return out;
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

SequenceBuilder::LayoutText SequenceBuilder::layout_text() const {
  const auto& chat = vlm_.spec().chat;
  // A format without a system turn (Mistral's [INST]) has no place for masp.system_prompt (vlm/bundle_spec.h).
  const std::string system = chat.has_system_turn() ? chat.system_start + options_.system_prompt + chat.closing_system() : "";
  return {system + chat.user_start + chat.image_open, chat.image_close, chat.closing_user() + chat.assistant_start};
}

std::string SequenceBuilder::describe_layout() const {
  const auto t = layout_text();
  const auto& open = vlm_.spec().chat.image_open;
  std::string before = t.before_image;
  if (options_.placement == PromptPlacement::Reference)  // the reference code's first copy, before image_open
    before = before.substr(0, before.size() - open.size()) + "{soft prompt}" + open;
  std::string out = before + "{aspect tokens}{visual tokens}" + t.after_image + "{soft prompt}{question}" + t.after_question +
                    "{answer}" + vlm_.spec().chat.end_of_turn;
  std::string shown;
  for (char ch : out) shown += ch == '\n' ? std::string("\\n") : std::string(1, ch);
  return shown;
}

SequenceSpec SequenceBuilder::layout(const std::vector<SequencePart>& image_span, const torch::Tensor& soft_prompt,
                                     const std::string& question, const std::string* answer) const {
  const auto t = layout_text();
  const auto& chat = vlm_.spec().chat;
  SequencePart soft;
  if (soft_prompt.defined()) soft = {Segment::SoftPrompt, {}, soft_prompt, false, {}};
  SequenceSpec spec;
  auto add_text = [&](const std::string& s) {
    if (!s.empty()) spec.push_back(text(s));
  };
  if (options_.placement == PromptPlacement::Reference && soft_prompt.defined()) {
    add_text(t.before_image.substr(0, t.before_image.size() - chat.image_open.size()));
    spec.push_back(soft);  // the reference code's first copy, before the image
    add_text(chat.image_open);
  } else {
    add_text(t.before_image);
  }
  for (const auto& p : image_span) spec.push_back(p);
  add_text(t.after_image);
  if (soft_prompt.defined()) spec.push_back(soft);  // Eq. 4: [V_fused; T_soft; T_user]
  add_text(question + t.after_question);
  if (answer) spec.push_back(answer_part(*answer));
  return spec;
}

SequenceSpec SequenceBuilder::aspect_question(const torch::Tensor& aspect_tokens, const std::string& question,
                                              const std::string* answer) const {
  return layout({{Segment::Aspect, {}, aspect_tokens, false, {}}}, torch::Tensor(), question, answer);
}

SequenceSpec SequenceBuilder::image_question(const torch::Tensor& aspect_tokens, const torch::Tensor& visual,
                                               const torch::Tensor& soft_prompt, const std::string& question,
                                               const std::string* answer) const {
  std::vector<SequencePart> span;  // V_fused = concat(z_1..z_A, V_global), Eq. 3
  if (aspect_tokens.defined()) span.push_back({Segment::Aspect, {}, aspect_tokens, false, {}});
  span.push_back({Segment::Visual, {}, visual, false, {}});
  return layout(span, soft_prompt, question, answer);
}

namespace {
// The cut of one spec, or nullopt where there is none.
std::optional<std::pair<SequenceSpec, SequenceSpec>> cut_spec(const SequenceSpec& spec, PrefixCut cut) {
  if (cut == PrefixCut::BeforeSoftPrompt) {
    auto first_soft = std::find_if(spec.begin(), spec.end(), [](const SequencePart& p) { return p.segment == Segment::SoftPrompt; });
    if (first_soft == spec.end()) return std::nullopt;
    return std::make_pair(SequenceSpec(spec.begin(), first_soft), SequenceSpec(first_soft, spec.end()));
  }
  if (spec.empty() || spec.back().length() == 0) return std::nullopt;
  SequenceSpec head = spec;
  SequencePart& split = head.back();
  SequencePart last = split;
  const int64_t n = split.length();
  if (split.embeds.defined()) {
    last.embeds = split.embeds.slice(0, n - 1);
    split.embeds = split.embeds.slice(0, 0, n - 1);
  } else {
    last.ids = {split.ids.back()};
    split.ids.pop_back();
  }
  if (n == 1) head.pop_back();
  return std::make_pair(std::move(head), SequenceSpec{last});
}
}  // namespace

std::optional<SpecSplit> split_specs(const std::vector<SequenceSpec>& specs, PrefixCut cut) {
  SpecSplit out;
  int64_t prefix_length = -1;
  for (const auto& spec : specs) {
    auto parts = cut_spec(spec, cut);
    if (!parts) return std::nullopt;
    int64_t n = 0;
    for (const auto& p : parts->first) {
      if (p.in_loss) return std::nullopt;
      n += p.length();
    }
    if (n == 0 || (prefix_length >= 0 && n != prefix_length)) return std::nullopt;
    prefix_length = n;
    out.prefixes.push_back(std::move(parts->first));
    out.rests.push_back(std::move(parts->second));
  }
  return out;
}

std::optional<SequenceBuilder::SplitBatch> SequenceBuilder::assemble_split(const std::vector<SequenceSpec>& specs) const {
  auto split = split_specs(specs, PrefixCut::BeforeSoftPrompt);
  if (!split) return std::nullopt;
  auto prefix = assemble(split->prefixes);
  auto rest = assemble(split->rests, /*pad_right=*/true, prefix.next_position);
  return SplitBatch{std::move(prefix), std::move(rest)};
}

void SequenceBuilder::place_positions(const std::vector<SequenceSpec>& specs, const torch::Tensor& continue_from,
                                      const std::function<int64_t(int64_t)>& first_column, SequenceBatch& out) const {
  const int64_t b_size = static_cast<int64_t>(specs.size()), s_len = out.attention_mask.size(1);
  const bool mrope = options_.positions == PositionMode::Mrope;
  auto positions = torch::zeros({mrope ? 3 : 1, b_size, s_len}, torch::kInt64);  // padding: 0
  auto next_position = torch::empty({b_size}, torch::kInt64);
  auto starts = continue_from.defined() ? continue_from.to(torch::kCPU, torch::kInt64) : torch::zeros({b_size}, torch::kInt64);
  if (starts.numel() != b_size) raise("internal: continue_from has ", starts.numel(), " rows for a batch of ", b_size);
  for (int64_t b = 0; b < b_size; ++b) {
    auto row = positions_of(specs[static_cast<size_t>(b)], starts[b].item<int64_t>());
    const int64_t begin = first_column(b), n = row.size(1);
    positions.select(1, b).slice(1, begin, begin + n).copy_(row);
    next_position[b] = n > 0 ? row.max().item<int64_t>() + 1 : starts[b].item<int64_t>();
  }
  // plain: [B,S], what the bundle derives from the mask itself (cumsum(mask) - 1, continued after a prefix);
  // mrope: [3,B,S], what the bundle is given.
  out.position_ids = (mrope ? positions : positions[0]).to(out.attention_mask.device());
  out.next_position = next_position.to(out.attention_mask.device());
}

SequenceBatch SequenceBuilder::assemble(const std::vector<SequenceSpec>& specs, bool pad_right,
                                        const torch::Tensor& continue_from) const {
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
  place_positions(specs, continue_from, first_column, out);
  out.token_ids = token_ids.to(device);
  out.loss_mask = loss.to(device);
  out.segments = segments;
  return out;
}

}  // namespace emotune
