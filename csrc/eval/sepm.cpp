#include "eval/sepm.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/text.h"

namespace emotune {

std::string sepm_coarse_question(const std::vector<std::string>& labels) {
  const auto split = split_by_polarity(labels);
  if (split.positive.empty() || split.negative.empty())
    raise("SEPM needs positive and negative labels; data.labels has ", split.positive.size(), " positive (",
          joined(split.positive), ") and ", split.negative.size(), " negative (", joined(split.negative), ")");
  // §3.2, Coarse-grained Query, after the FoE prompt (§3.3).
  return std::string(kFocusOnEmotion) + " Which of the following descriptions best represents the image?\nA. Positive B. Negative\n" +
         "Positive emotions include " + joined(split.positive) + ". Negative emotions include " + joined(split.negative) +
         ". Answer directly with the letter of the chosen option.";
}

double sepm_confidence(double p_a, double p_b, SepmVariance variance) {
  const double mean = (p_a + p_b) / 2, squares = (p_a - mean) * (p_a - mean) + (p_b - mean) * (p_b - mean);
  return variance == SepmVariance::Paper ? squares / 2 : squares / 1;  // Eq. 4 divides by n = 2; the code by n - 1
}

std::vector<bool> sepm_fine_options(const std::vector<std::string>& labels, Polarity predicted, bool confident) {
  std::vector<bool> kept;
  for (const auto& l : labels) {
    const Polarity p = polarity_of(l);
    kept.push_back(!confident || p == predicted || p == Polarity::Neutral);
  }
  return kept;
}

std::string sepm_fine_question(const std::vector<std::string>& labels, const std::vector<bool>& kept, bool ambiguous) {
  if (labels.size() > 26) raise("SEPM letters its options A-Z: ", labels.size(), " labels are too many");
  std::string options;
  for (size_t k = 0; k < labels.size(); ++k)
    if (kept[k]) options += (options.empty() ? "" : " ") + std::string(1, static_cast<char>('A' + k)) + ". " + labels[k];
  // §3.2, Fine-grained Query; below the threshold the "ambiguous-related description" of §3.2's Confidence Assessment.
  return std::string("Which of the following descriptions best represents the image?\n") + options + "\n" +
         (ambiguous ? "The emotion of this image is ambiguous between positive and negative. " : "") +
         "Answer directly with the letter of the chosen option.";
}

int64_t sepm_answer_label(const std::string& answer, const std::vector<bool>& kept) {
  std::string a = trimmed(answer);
  if (!a.empty() && (a.back() == '.' || a.back() == ')')) a.pop_back();
  if (a.size() != 1 || a[0] < 'A' || a[0] > 'Z') return -1;
  const auto k = static_cast<size_t>(a[0] - 'A');
  return k < kept.size() && kept[k] ? static_cast<int64_t>(k) : -1;
}

torch::Tensor sepm_visual_scores(const torch::Tensor& attention, const std::vector<int64_t>& focus_rows,
                                 const std::vector<int64_t>& visual_columns) {
  if (attention.dim() != 3 || attention.size(1) != attention.size(2))
    raise("SEPM: last_attention of one sequence must be [heads, S, S], got ", attention.sizes());
  if (focus_rows.empty() || visual_columns.empty()) raise("SEPM: no Focus-on-Emotion rows or no visual tokens to score");
  auto heads = attention.to(torch::kFloat64).mean(0);  // Eq. 6: averaged over heads
  auto rows = torch::tensor(focus_rows, torch::kInt64), cols = torch::tensor(visual_columns, torch::kInt64);
  return heads.index_select(0, rows).index_select(1, cols).mean(0);  // Eq. 8: the mean over the FoE rows
}

std::vector<int64_t> sepm_drop_set(const torch::Tensor& attention, const std::vector<int64_t>& focus_rows,
                                   const std::vector<int64_t>& visual_columns, double beta) {
  return sepm_least_attended(sepm_visual_scores(attention, focus_rows, visual_columns), beta);
}

std::vector<int64_t> sepm_least_attended(const torch::Tensor& p_bar, double beta) {
  if (beta < 0 || beta >= 1) raise("SEPM drop rate beta must be in [0, 1), got ", beta);
  auto scores = p_bar.to(torch::kFloat64).contiguous();
  const auto n = scores.numel();
  const auto k = static_cast<int64_t>(std::floor(beta * static_cast<double>(n)));  // Eq. 9: k = ⌊β N_v⌋
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  const double* s = scores.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] < s[b]; });  // ties: position
  std::vector<int64_t> dropped(order.begin(), order.begin() + k);
  std::sort(dropped.begin(), dropped.end());
  return dropped;
}

}  // namespace emotune
