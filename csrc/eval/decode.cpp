#include "eval/decode.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>

#include "masp/answer_scoring.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

std::string normalise_answer(const std::string& text) {
  auto line = text.substr(0, text.find('\n'));
  auto begin = line.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  auto end = line.find_last_not_of(" \t\r");
  line = line.substr(begin, end - begin + 1);
  std::transform(line.begin(), line.end(), line.begin(), [](unsigned char c) { return std::tolower(c); });
  return line;
}

bool aspect_answer_matches(const std::string& generated, const std::string& annotated) {
  auto items = [](const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(normalise_answer(text));
    for (std::string item; std::getline(in, item, ',');) {
      const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
      out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  return items(generated) == items(annotated);
}

std::vector<std::string> generate_greedy(FrozenVLM& vlm, const SequenceBuilder& builder,
                                         const std::vector<SequenceSpec>& prompts, int64_t max_new_tokens,
                                         bool use_prefix_cache) {
  torch::NoGradGuard no_grad;
  auto batch = builder.assemble(prompts);
  auto embeds = batch.embeds;
  auto mask = batch.attention_mask;
  auto positions = batch.model_positions();  // mrope: [3,B,S], grown by one column per generated token
  auto next_position = batch.next_position;
  const int64_t n = batch.size();
  // With a prefix cache the prompt but its last token is prefilled once, and each step runs only [last prompt
  // token; tokens so far] after it: a step costs the few new positions, not the whole prompt again (issue 28,
  // finding 11: without it a batch of 64 decoded no faster per image than one). Left padding puts every
  // prompt's last token in the last column, so one cut serves the whole batch.
  std::optional<FrozenVLM::PrefixCache> prefix;
  if (use_prefix_cache && vlm.has_prefix_cache() && embeds.size(1) >= 2) {
    const int64_t cut = embeds.size(1) - 1;
    prefix = vlm.prefill(embeds.slice(1, 0, cut), mask.slice(1, 0, cut), positions.defined() ? positions.slice(2, 0, cut) : positions);
    embeds = embeds.slice(1, cut), mask = mask.slice(1, cut);
    if (positions.defined()) positions = positions.slice(2, cut);
  }
  std::vector<std::vector<int64_t>> tokens(static_cast<size_t>(n));
  std::vector<bool> done(static_cast<size_t>(n), false);
  const int64_t eot = builder.end_of_turn_id(), eos = vlm.spec().eos_id;
  for (int64_t t = 0; t < max_new_tokens; ++t) {
    // Logits of the last column only (a 150k-row head makes [B,S,V] large), and only over the tokenizer's
    // pieces: a head may have rows past them (Qwen2-VL-2B: 151,936 for 151,669), never trained, not decodable.
    auto last = torch::zeros({n, embeds.size(1)}, torch::kBool);
    last.select(1, embeds.size(1) - 1).fill_(true);
    auto logits = prefix ? vlm.forward_rows_after(*prefix, embeds, mask, last, positions) : vlm.forward_rows(embeds, mask, last, positions);
    auto next = logits.slice(-1, 0, vlm.tokenizer().size()).argmax(-1).to(torch::kCPU);
    bool all_done = true;
    for (int64_t b = 0; b < n; ++b) {
      int64_t id = next[b].item<int64_t>();
      if (!done[b]) {
        if (id == eot || id == eos) done[b] = true;
        else tokens[b].push_back(id);
      }
      all_done = all_done && done[b];
    }
    if (all_done) break;
    embeds = torch::cat({embeds, vlm.embed_tokens(next.unsqueeze(1).to(vlm.device())).to(embeds.scalar_type())}, 1);
    mask = torch::cat({mask, torch::ones({n, 1}, mask.options())}, 1);
    if (positions.defined()) positions = torch::cat({positions, next_position.view({1, n, 1}).expand({3, n, 1})}, 2);
    next_position = next_position + 1;
  }
  std::vector<std::string> out;
  for (const auto& ids : tokens) out.push_back(vlm.tokenizer().decode(ids));
  return out;
}

namespace {

// Label ranking scores k candidates after the same prompt, and in a causal LM the prompt's keys and values do
// not depend on what follows. So the prompt but its last token is prefilled once and only [last token;
// candidate] runs k times: about the cost of one prompt instead of k. The last token stays out of the prefix
// because its logits predict the candidate's first token (masp/sequence.h, PrefixCut::BeforeLastToken).
// nullopt where the prompts cannot be cut so (split_specs).
std::optional<torch::Tensor> score_candidates_cached(FrozenVLM& vlm, const SequenceBuilder& builder,
                                                     const std::vector<SequenceSpec>& prompts,
                                                     const std::vector<SequencePart>& answers) {
  auto split = split_specs(prompts, PrefixCut::BeforeLastToken);
  if (!split) return std::nullopt;
  std::vector<SequenceSpec> rests;
  for (const auto& last : split->rests)
    for (const auto& answer : answers) rests.push_back({last.front(), answer});
  auto head = builder.assemble(split->prefixes);
  const int64_t k = static_cast<int64_t>(answers.size());
  auto cache = vlm.repeat_prefix(vlm.prefill(head.embeds, head.attention_mask, head.model_positions()), k);
  auto rest = builder.assemble(rests, /*pad_right=*/true, head.next_position.repeat_interleave(k));
  auto ll = score_answers(vlm, rest, &cache).log_likelihood;
  return ll.to(torch::kCPU).view({static_cast<int64_t>(prompts.size()), static_cast<int64_t>(answers.size())});
}

}  // namespace

torch::Tensor score_candidates(FrozenVLM& vlm, const SequenceBuilder& builder, const std::vector<SequenceSpec>& prompts,
                               const std::vector<std::string>& candidates, int64_t batch_size, bool use_prefix_cache) {
  torch::NoGradGuard no_grad;
  std::vector<SequencePart> answers;
  for (const auto& c : candidates) answers.push_back(builder.answer_part(c));
  const int64_t n = static_cast<int64_t>(prompts.size()), k = static_cast<int64_t>(candidates.size());
  if (use_prefix_cache && vlm.has_prefix_cache() && n > 0 && k > 0) {
    const size_t per_batch = static_cast<size_t>(std::max<int64_t>(1, batch_size / k));
    std::vector<torch::Tensor> chunks;
    bool all_cached = true;
    for (size_t lo = 0; lo < prompts.size() && all_cached; lo += per_batch) {
      std::vector<SequenceSpec> chunk(prompts.begin() + static_cast<std::ptrdiff_t>(lo),
                                      prompts.begin() + static_cast<std::ptrdiff_t>(std::min(prompts.size(), lo + per_batch)));
      auto scores = score_candidates_cached(vlm, builder, chunk, answers);
      if (scores) chunks.push_back(*scores);
      all_cached = scores.has_value();
    }
    if (all_cached) return torch::cat(chunks);
  }
  auto scores = torch::empty({n * k}, torch::kFloat32);
  std::vector<SequenceSpec> pending;
  int64_t written = 0;
  auto flush = [&] {
    if (pending.empty()) return;
    auto ll = score_answers(vlm, builder.assemble(pending)).log_likelihood.to(torch::kCPU);
    scores.slice(0, written, written + ll.size(0)).copy_(ll);
    written += ll.size(0);
    pending.clear();
  };
  for (const auto& prompt : prompts)
    for (const auto& answer : answers) {
      auto spec = prompt;
      spec.push_back(answer);
      pending.push_back(std::move(spec));
      if (static_cast<int64_t>(pending.size()) == batch_size) flush();
    }
  flush();
  return scores.view({n, k});
}

}  // namespace emotune
