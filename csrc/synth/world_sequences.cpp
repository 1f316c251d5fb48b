#include "synth/world_sequences.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/rng.h"

namespace emotune {

namespace {

std::vector<double> normalised(std::vector<double> v) {
  double z = 0;
  for (double x : v) z += x;
  for (double& x : v) x /= z;
  return v;
}

double sum(const std::vector<double>& v) {
  double z = 0;
  for (double x : v) z += x;
  return z;
}

// Forward: (vᵀT)[e'] = ρ v[e'] + (1 − ρ) m[e'] Σv.
std::vector<double> forward_step(const std::vector<double>& v, double inertia, const std::vector<double>& m) {
  std::vector<double> out(v.size());
  const double total = sum(v);
  for (size_t e = 0; e < v.size(); ++e) out[e] = inertia * v[e] + (1 - inertia) * m[e] * total;
  return out;
}

// Backward: (T c)[e] = ρ c[e] + (1 − ρ) Σ_e' m[e'] c[e'].
std::vector<double> backward_step(const std::vector<double>& c, double inertia, const std::vector<double>& m) {
  double mixed = 0;
  for (size_t e = 0; e < c.size(); ++e) mixed += m[e] * c[e];
  std::vector<double> out(c.size());
  for (size_t e = 0; e < c.size(); ++e) out[e] = inertia * c[e] + (1 - inertia) * mixed;
  return out;
}

}  // namespace

std::vector<std::vector<double>> chain_posteriors(const std::vector<std::vector<double>>& emissions, double inertia,
                                                  const std::vector<double>& marginal) {
  const size_t n = emissions.size();
  if (n == 0) return {};
  const size_t k = emissions[0].size();
  std::vector<std::vector<double>> alpha(n), beta(n, std::vector<double>(k, 1.0)), out(n);
  for (size_t j = 0; j < n; ++j) {
    auto prior = j == 0 ? marginal : forward_step(alpha[j - 1], inertia, marginal);
    for (size_t e = 0; e < k; ++e) prior[e] *= emissions[j][e];
    alpha[j] = normalised(prior);
  }
  for (size_t j = n - 1; j-- > 0;) {
    std::vector<double> next(k);
    for (size_t e = 0; e < k; ++e) next[e] = emissions[j + 1][e] * beta[j + 1][e];
    beta[j] = normalised(backward_step(next, inertia, marginal));
  }
  for (size_t j = 0; j < n; ++j) {
    std::vector<double> g(k);
    for (size_t e = 0; e < k; ++e) g[e] = alpha[j][e] * beta[j][e];
    out[j] = normalised(g);
  }
  return out;
}

WorldSequences group_into_sequences(const std::vector<WorldImage>& images, const std::vector<std::string>& split_names,
                                    const std::vector<std::string>& label_names, const SequenceOptions& o) {
  WorldSequences out;
  for (const auto& name : split_names) out.splits.push_back({name});
  if (o.sequences <= 0) return out;
  if (o.length < 1 || !(o.inertia >= 0 && o.inertia <= 1)) raise("synth: need --sequence-length >= 1 and --inertia in [0, 1]");
  const size_t k = images.at(0).p.size();
  std::vector<double> marginal(k, 0.0);  // p_w(e)
  for (const auto& im : images)
    for (size_t e = 0; e < k; ++e) marginal[e] += im.p[e] / static_cast<double>(images.size());
  // Each split's unused images per label, in a seeded order.
  std::vector<std::vector<std::vector<int64_t>>> pool(split_names.size(), std::vector<std::vector<int64_t>>(k));
  for (int64_t i : seeded_permutation(static_cast<int64_t>(images.size()), o.seed, 0x5E05))
    pool[images[static_cast<size_t>(i)].split][images[static_cast<size_t>(i)].label].push_back(i);
  std::mt19937_64 rng(mix_seed(o.seed, 0x5E06));
  std::uniform_real_distribution<double> u(0, 1);
  for (size_t s = 0; s < split_names.size(); ++s) {
    int64_t in_split = 0;
    for (const auto& im : images) in_split += im.split == s;
    const auto count = static_cast<int64_t>(std::llround(static_cast<double>(o.sequences) * static_cast<double>(in_split) / static_cast<double>(images.size())));
    auto& summary = out.splits[s];
    for (int64_t q = 0; q < count; ++q) {
      std::vector<int64_t> members;
      std::vector<std::vector<double>> emissions;
      std::discrete_distribution<size_t> fresh(marginal.begin(), marginal.end());
      size_t label = fresh(rng);
      for (int64_t j = 0; j < o.length; ++j) {
        if (j > 0 && u(rng) >= o.inertia) label = fresh(rng);
        auto& left = pool[s][label];
        if (left.empty())
          raise("synth: split '", split_names[s], "' has no unused image labelled '", label_names.at(label), "' for sequence ", q + 1, " of ", count,
                "; render more --images or ask for fewer --sequences");
        members.push_back(left.back());
        left.pop_back();
        std::vector<double> b(k);
        for (size_t e = 0; e < k; ++e) b[e] = images[static_cast<size_t>(members.back())].p[e] / marginal[e];  // ∝ p(a | e)
        emissions.push_back(b);
      }
      for (const auto& g : chain_posteriors(emissions, o.inertia, marginal)) summary.bayes_sequence += *std::max_element(g.begin(), g.end());
      for (int64_t m : members) {  // p(e | a) ∝ p_w(e) · p(a | e) ∝ p(e | a): the chain's marginal is p_w
        auto g = normalised(images[static_cast<size_t>(m)].p);
        summary.bayes_context_free += *std::max_element(g.begin(), g.end());
      }
      summary.sequences++, summary.items += o.length;
      out.members.push_back(std::move(members));
    }
    if (summary.items) summary.bayes_sequence /= static_cast<double>(summary.items), summary.bayes_context_free /= static_cast<double>(summary.items);
  }
  return out;
}

}  // namespace emotune
