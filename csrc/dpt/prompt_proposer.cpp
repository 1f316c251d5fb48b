#include "dpt/prompt_proposer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "core/rng.h"
#include "llm/chat_client.h"

namespace emotune {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n\"'");
  auto e = s.find_last_not_of(" \t\r\n\"'");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string join_labels(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out;
}

class EvolutionaryProposer final : public PromptProposer {
 public:
  EvolutionaryProposer(std::vector<std::string> fragments, uint64_t seed) : fragments_(std::move(fragments)), seed_(seed) {
    if (fragments_.size() < 2) raise("config key 'dpt.fragments' needs at least two fragments");
  }

  std::vector<std::string> initial(int64_t n, const ProposalStep& at) override {
    std::mt19937_64 rng(mix_seed(seed_, at.seed()));
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (int tries = 0; static_cast<int64_t>(out.size()) < n && tries < 100 * n; ++tries) {
      std::vector<int> genome;
      const int length = std::uniform_int_distribution<int>(1, 3)(rng);
      while (static_cast<int>(genome.size()) < length) {
        int f = pick(rng);
        if (std::find(genome.begin(), genome.end(), f) == genome.end()) genome.push_back(f);
      }
      keep(genome, seen, out);
    }
    return out;
  }

  std::vector<std::string> modify(const std::vector<ScoredPrompt>& best, const std::vector<ScoredPrompt>& worst, int64_t n,
                                  const ProposalStep& at) override {
    std::mt19937_64 rng(mix_seed(seed_, at.seed()));
    std::set<std::string> seen;
    for (const auto& p : best) seen.insert(p.text);   // a child must differ from its parents…
    for (const auto& p : worst) seen.insert(p.text);  // …and from the poor prompts
    std::vector<std::string> out;
    if (best.empty()) return out;
    std::uniform_int_distribution<size_t> parent(0, best.size() - 1);
    for (int tries = 0; static_cast<int64_t>(out.size()) < n && tries < 100 * n; ++tries) {
      auto genome = genome_of(best[parent(rng)].text);
      if (best.size() > 1 && std::bernoulli_distribution(0.5)(rng)) {  // crossover: a prefix of one, the rest of another
        auto other = genome_of(best[parent(rng)].text);
        auto cut_a = std::uniform_int_distribution<size_t>(0, genome.size())(rng);
        auto cut_b = std::uniform_int_distribution<size_t>(0, other.size())(rng);
        genome.resize(cut_a);
        for (size_t k = cut_b; k < other.size(); ++k)
          if (std::find(genome.begin(), genome.end(), other[k]) == genome.end()) genome.push_back(other[k]);
      }
      mutate(genome, rng);
      if (!genome.empty()) keep(genome, seen, out);
    }
    return out;
  }

 private:
  int pick(std::mt19937_64& rng) const {
    return std::uniform_int_distribution<int>(0, static_cast<int>(fragments_.size()) - 1)(rng);
  }
  void mutate(std::vector<int>& g, std::mt19937_64& rng) const {
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0:  // replace
        if (!g.empty()) g[std::uniform_int_distribution<size_t>(0, g.size() - 1)(rng)] = pick(rng);
        break;
      case 1:  // insert
        g.insert(g.begin() + static_cast<long>(std::uniform_int_distribution<size_t>(0, g.size())(rng)), pick(rng));
        break;
      case 2:  // delete
        if (g.size() > 1) g.erase(g.begin() + static_cast<long>(std::uniform_int_distribution<size_t>(0, g.size() - 1)(rng)));
        break;
      default:  // swap
        if (g.size() > 1) std::swap(g[0], g[std::uniform_int_distribution<size_t>(1, g.size() - 1)(rng)]);
    }
    std::vector<int> unique;  // a fragment once
    for (int f : g)
      if (std::find(unique.begin(), unique.end(), f) == unique.end()) unique.push_back(f);
    g = unique;
  }
  std::string text_of(const std::vector<int>& g) {
    std::string t;
    for (int f : g) t += (t.empty() ? "" : " ") + fragments_[static_cast<size_t>(f)];
    genomes_[t] = g;
    return t;
  }
  // A prompt this proposer did not write (e.g. from an earlier run's history) is one indivisible fragment.
  std::vector<int> genome_of(const std::string& text) {
    auto it = genomes_.find(text);
    if (it != genomes_.end()) return it->second;
    fragments_.push_back(text);
    return {static_cast<int>(fragments_.size()) - 1};
  }
  void keep(const std::vector<int>& genome, std::set<std::string>& seen, std::vector<std::string>& out) {
    auto t = text_of(genome);
    if (seen.insert(t).second) out.push_back(t);
  }
  std::vector<std::string> fragments_;
  uint64_t seed_;
  std::map<std::string, std::vector<int>> genomes_;
};

class LlmProposer final : public PromptProposer {
 public:
  LlmProposer(const EmotuneConfig& c, CallMeter& meter)
      : config_(c), meter_(meter), client_(c.dpt.proposer_endpoint, "dpt.proposer_endpoint", static_cast<uint64_t>(c.seed) ^ 0x7072u) {}

  std::vector<std::string> initial(int64_t n, const ProposalStep& at) override {
    std::ostringstream m;
    m << "Task: " << config_.dpt.task << ". The possible answers are: " << join_labels(config_.data.labels) << ".\n"
      << "Write " << n << " different prompts that instruct a vision-language model, shown one image, to perform this task "
      << "for one particular person. Return only a JSON array of " << n << " strings.";
    return ask(m.str(), n, at);
  }

  std::vector<std::string> modify(const std::vector<ScoredPrompt>& best, const std::vector<ScoredPrompt>& worst, int64_t n,
                                  const ProposalStep& at) override {
    // Paper 000 §III-C: the LLM sees the top-k and worst-k prompts with their accuracies on this user's images
    // and writes prompts more similar to the good and less similar to the poor ones.
    std::ostringstream m;
    m << "Task: " << config_.dpt.task << ". The possible answers are: " << join_labels(config_.data.labels) << ".\n"
      << "Prompts that worked well for this person (accuracy on their images):\n";
    for (const auto& p : best) m << "- " << nlohmann::json(p.text).dump() << " (" << 100.0 * p.score << "%)\n";
    m << "Prompts that worked poorly:\n";
    for (const auto& p : worst) m << "- " << nlohmann::json(p.text).dump() << " (" << 100.0 * p.score << "%)\n";
    m << "Write " << n << " new prompts that are more like the good prompts and less like the poor ones. "
      << "Return only a JSON array of " << n << " strings.";
    return ask(m.str(), n, at);
  }

 private:
  std::vector<std::string> ask(const std::string& text, int64_t n, const ProposalStep& at) {
    nlohmann::json messages = nlohmann::json::array(
        {{{"role", "system"}, {"content", "You write prompts for a multimodal model that recognises the emotion an image evokes in one person."}},
         {{"role", "user"}, {"content", text}}});
    const auto body = client_.request_body(messages, static_cast<int64_t>(at.seed() & 0x7fffffff));
    auto record = meter_.call(call_key(body, -1), [&] {
      auto reply = client_.complete(body);
      return CallRecord{reply.text, reply.prompt_tokens, reply.completion_tokens, client_.price_usd(reply)};
    });
    auto prompts = parse_proposals(record.text);
    if (prompts.empty()) raise(client_.role(), ": the proposer's answer holds no prompts: ", record.text.substr(0, 200));
    if (static_cast<int64_t>(prompts.size()) > n) prompts.resize(static_cast<size_t>(n));
    return prompts;
  }
  const EmotuneConfig& config_;
  CallMeter& meter_;
  ChatClient client_;
};

}  // namespace

uint64_t ProposalStep::seed() const {
  return mix_seed(string_seed(user), static_cast<uint64_t>(initialization), static_cast<uint64_t>(restart), static_cast<uint64_t>(step + 1));
}

std::vector<std::string> parse_proposals(const std::string& answer) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    auto t = trim(s);
    if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  };
  auto open = answer.find('['), close = answer.rfind(']');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    auto j = nlohmann::json::parse(answer.substr(open, close - open + 1), nullptr, false);
    if (j.is_array()) {
      for (const auto& v : j)
        if (v.is_string()) add(v.get<std::string>());
      if (!out.empty()) return out;
    }
  }
  std::istringstream lines(answer);
  for (std::string line; std::getline(lines, line);) {
    auto t = trim(line);
    size_t k = 0;  // "1. ", "2) ", "- "
    while (k < t.size() && (std::isdigit(static_cast<unsigned char>(t[k])) || t[k] == '.' || t[k] == ')' || t[k] == '-' || t[k] == '*')) ++k;
    add(t.substr(k));
  }
  return out;
}

const std::vector<std::string>& default_prompt_fragments() {
  static const std::vector<std::string> f{
      "Which emotion does this image most strongly evoke?",
      "How does this particular person feel when looking at this picture?",
      "Look at the whole image carefully.",
      "Consider where the picture was taken.",
      "Consider the objects in the picture.",
      "Notice how bright or dark the image is.",
      "Notice how colourful or grey the image is.",
      "Imagine being in this place.",
      "Think about the mood of the scene.",
      "Small details can change the feeling.",
      "Answer from this person's point of view, not the average viewer's.",
      "Name the single strongest feeling.",
  };
  return f;
}

std::unique_ptr<PromptProposer> make_prompt_proposer(const EmotuneConfig& c, CallMeter& meter) {
  if (c.dpt.proposer == "openai") return std::make_unique<LlmProposer>(c, meter);
  return std::make_unique<EvolutionaryProposer>(c.dpt.fragments.empty() ? default_prompt_fragments() : c.dpt.fragments,
                                                static_cast<uint64_t>(c.seed));
}

}  // namespace emotune
