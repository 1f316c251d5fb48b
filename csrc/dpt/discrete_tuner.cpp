#include "dpt/discrete_tuner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/did_you_mean.h"
#include "core/atomic_file.h"
#include "core/rng.h"
#include "data/manifest.h"
#include "data/world_facts.h"
#include "dpt/prompt_target.h"
#include "masp/image_features.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {

struct Candidate {
  ScoredPrompt prompt;
  std::vector<int64_t> parents;
  int64_t initialization = 0, restart = 0, step = -1;
};

// The tuning of one user: candidates, the history lines they write, and the target that scores them.
class UserTuning {
 public:
  UserTuning(const DiscreteConfig& d, std::string user, std::vector<int64_t> train, std::vector<int64_t> gold,
             PromptTarget& target, PromptProposer& proposer, std::ofstream& history)
      : d_(d), user_(std::move(user)), train_(std::move(train)), gold_(std::move(gold)), target_(target), proposer_(proposer), history_(history) {}

  void run() {
    for (int64_t init = 0; init < d_.initializations; ++init) {
      ProposalStep at{user_, init, 0, -1};
      std::vector<int64_t> initial = score_all(proposer_.initial(d_.initial_prompts, at), {}, at);
      std::vector<int64_t> of_init = initial;
      if (init == 0) first_initial_ = initial;
      for (int64_t restart = 0; restart < d_.restarts; ++restart) {
        std::vector<int64_t> chain = d_.restart_from == "initial" || restart == 0 ? initial : ranked(of_init, d_.initial_prompts);
        for (int64_t step = 0; step < d_.steps; ++step) {
          auto order = ranked(chain, static_cast<int64_t>(chain.size()));
          std::vector<ScoredPrompt> best, worst;
          std::vector<int64_t> parents;
          for (int64_t k = 0; k < std::min<int64_t>(d_.feedback_best, static_cast<int64_t>(order.size())); ++k)
            best.push_back(all_[static_cast<size_t>(order[static_cast<size_t>(k)])].prompt), parents.push_back(order[static_cast<size_t>(k)]);
          for (int64_t k = 0; k < std::min<int64_t>(d_.feedback_worst, static_cast<int64_t>(order.size())); ++k)
            worst.push_back(all_[static_cast<size_t>(order[order.size() - 1 - static_cast<size_t>(k)])].prompt);
          ProposalStep here{user_, init, restart, step};
          auto added = score_all(proposer_.modify(best, worst, d_.proposals_per_step, here), parents, here);
          chain.insert(chain.end(), added.begin(), added.end());
          of_init.insert(of_init.end(), added.begin(), added.end());
        }
      }
    }
  }

  // Candidate ids of `ids`, best first (score, then earlier id), distinct texts only, at most n.
  std::vector<int64_t> ranked(const std::vector<int64_t>& ids, int64_t n) const {
    std::vector<int64_t> order = ids;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      const auto &pa = all_[static_cast<size_t>(a)].prompt, &pb = all_[static_cast<size_t>(b)].prompt;
      return pa.score != pb.score ? pa.score > pb.score : a < b;
    });
    std::vector<int64_t> out;
    std::vector<std::string> texts;
    for (auto id : order) {
      const auto& t = all_[static_cast<size_t>(id)].prompt.text;
      if (std::find(texts.begin(), texts.end(), t) != texts.end()) continue;
      texts.push_back(t);
      out.push_back(id);
      if (static_cast<int64_t>(out.size()) >= n) break;
    }
    return out;
  }
  std::vector<int64_t> all_ids() const {
    std::vector<int64_t> ids(all_.size());
    for (size_t k = 0; k < ids.size(); ++k) ids[k] = static_cast<int64_t>(k);
    return ids;
  }
  const Candidate& candidate(int64_t id) const { return all_[static_cast<size_t>(id)]; }
  const std::vector<int64_t>& first_initial() const { return first_initial_; }
  int64_t size() const { return static_cast<int64_t>(all_.size()); }

 private:
  std::vector<int64_t> score_all(const std::vector<std::string>& prompts, const std::vector<int64_t>& parents, const ProposalStep& at) {
    std::vector<int64_t> ids;
    for (const auto& text : prompts) {
      auto memo = scores_.find(text);
      double score = 0;
      if (memo != scores_.end()) {
        score = memo->second;
      } else {
        auto pred = target_.predict(text, train_);
        int64_t hits = 0;
        for (size_t i = 0; i < pred.size(); ++i) hits += pred[i] == gold_[i];
        score = train_.empty() ? 0.0 : static_cast<double>(hits) / static_cast<double>(train_.size());
        scores_[text] = score;
      }
      const auto id = static_cast<int64_t>(all_.size());
      all_.push_back({{id, text, score}, parents, at.initialization, at.restart, at.step});
      ids.push_back(id);
      nlohmann::json line = {{"user", user_}, {"id", id}, {"prompt", text}, {"parents", parents}, {"initialization", at.initialization},
                             {"restart", at.restart}, {"step", at.step}, {"train_accuracy", score}};
      history_ << line.dump() << "\n" << std::flush;
    }
    return ids;
  }
  const DiscreteConfig& d_;
  std::string user_;
  std::vector<int64_t> train_, gold_;
  PromptTarget& target_;
  PromptProposer& proposer_;
  std::ofstream& history_;
  std::vector<Candidate> all_;
  std::vector<int64_t> first_initial_;
  std::map<std::string, double> scores_;
};

double accuracy(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold) {
  if (gold.empty()) return -1;
  int64_t hits = 0;
  for (size_t i = 0; i < gold.size(); ++i) hits += pred[i] == gold[i];
  return static_cast<double>(hits) / static_cast<double>(gold.size());
}

std::string pct(double v) {
  if (v < 0) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * v);
  return buf;
}

std::string report_of(const DiscreteResult& r, const std::string& split) {
  std::ostringstream t;
  t << "Discrete prompt tuning, accuracy (%) on each user's '" << split << "' images.\n\n"
    << "| user | train / test | candidates | best initial prompt | single best prompt | majority vote (H) | Bayes limit |\n"
    << "|---|---|---|---|---|---|---|\n";
  double sums[4] = {0, 0, 0, 0};
  for (const auto& u : r.users) {
    t << "| " << u.user << " | " << u.train_images << " / " << u.test_images << " | " << u.candidates << " | " << pct(u.initial_test)
      << " | " << pct(u.best_test) << " | " << pct(u.vote_test) << " | " << pct(u.bayes) << " |\n";
    sums[0] += u.initial_test, sums[1] += u.best_test, sums[2] += u.vote_test, sums[3] += u.bayes;
  }
  const double n = static_cast<double>(std::max<size_t>(1, r.users.size()));
  t << "| **mean** | | | " << pct(sums[0] / n) << " | " << pct(sums[1] / n) << " | " << pct(sums[2] / n) << " | "
    << pct(r.users.empty() || r.users[0].bayes < 0 ? -1 : sums[3] / n) << " |\n\n";
  t << "Model calls: " << r.spend.new_calls << " new, " << r.spend.cached_calls << " from the cache; tokens " << r.spend.prompt_tokens
    << " prompt + " << r.spend.completion_tokens << " completion; cost $" << r.spend.usd << ".\n";
  return t.str();
}

}  // namespace

int64_t majority_vote(const std::vector<int64_t>& predictions) {
  std::map<int64_t, int64_t> votes;
  for (auto p : predictions)
    if (p >= 0) votes[p]++;
  int64_t most = 0;
  for (const auto& [label, n] : votes) most = std::max(most, n);
  for (auto p : predictions)  // best-ranked prompt first: the first label with the most votes wins a tie
    if (p >= 0 && votes[p] == most) return p;
  return -1;
}

nlohmann::json DiscreteResult::to_json() const {
  nlohmann::json users_json = nlohmann::json::array();
  for (const auto& u : users) {
    nlohmann::json top_json = nlohmann::json::array();
    for (const auto& p : u.top) top_json.push_back({{"id", p.id}, {"prompt", p.text}, {"train_accuracy", p.score}});
    users_json.push_back({{"user", u.user}, {"train_images", u.train_images}, {"test_images", u.test_images}, {"candidates", u.candidates},
                          {"top", top_json}, {"initial_test", u.initial_test}, {"best_test", u.best_test}, {"vote_test", u.vote_test},
                          {"bayes", u.bayes}});
  }
  return {{"users", users_json}};
}

namespace {
// The rows tuned on (the train split, then the eval split), their gold label indices, and each user's rows.
struct TuningRows {
  std::vector<ManifestRow> rows;
  std::vector<int64_t> gold;
  std::vector<std::string> order;  // the users to tune: in order of their first training row, or dpt.users
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<int64_t>>> of_user;  // train, test row indices
};

// Every row needs a known label and a user; every user named in dpt.users needs training images.
TuningRows tuning_rows(const EmotuneConfig& c, const Manifest& manifest) {
  const auto& d = c.dpt;
  auto train_rows = manifest.split(c.data.train_split), test_rows = manifest.split(c.data.eval_split);
  TuningRows t;
  t.rows = train_rows;
  t.rows.insert(t.rows.end(), test_rows.begin(), test_rows.end());
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto& row = t.rows[i];
    auto it = std::find(c.data.labels.begin(), c.data.labels.end(), row.label);
    if (it == c.data.labels.end()) raise(manifest.where(row), ": label '", row.label, "' is not in data.labels", suggestion(row.label, c.data.labels));
    if (row.user.empty()) raise(manifest.where(row), ": discrete prompt tuning needs a \"user\" on every row");
    t.gold.push_back(it - c.data.labels.begin());
    auto [u, inserted] = t.of_user.try_emplace(row.user);
    if (inserted && i < train_rows.size()) t.order.push_back(row.user);
    (i < train_rows.size() ? u->second.first : u->second.second).push_back(static_cast<int64_t>(i));
  }
  for (const auto& u : d.users)
    if (!t.of_user.count(u) || t.of_user[u].first.empty()) raise("config key 'dpt.users': user '", u, "' has no training images", suggestion(u, t.order));
  if (!d.users.empty()) t.order = d.users;
  return t;
}

// The user's training rows; with dpt.train_images, a seeded choice of L of them, kept in row order.
std::vector<int64_t> training_images(const EmotuneConfig& c, const std::string& user, std::vector<int64_t> train) {
  const auto& d = c.dpt;
  if (d.train_images > 0 && static_cast<int64_t>(train.size()) > d.train_images) {  // L images, a seeded choice
    auto perm = seeded_permutation(static_cast<int64_t>(train.size()), static_cast<uint64_t>(c.seed), string_seed("L:" + user));
    std::vector<int64_t> chosen;
    for (int64_t k = 0; k < d.train_images; ++k) chosen.push_back(train[static_cast<size_t>(perm[static_cast<size_t>(k)])]);
    std::sort(chosen.begin(), chosen.end());
    train = chosen;
  }
  return train;
}

std::vector<int64_t> gold_of(const std::vector<int64_t>& gold, const std::vector<int64_t>& ids) {
  std::vector<int64_t> g;
  for (auto i : ids) g.push_back(gold[static_cast<size_t>(i)]);
  return g;
}

// Test accuracy of the single best prompt, of the majority vote of the H best, and of the best initial prompt.
void evaluate_on_test(const DiscreteConfig& d, const UserTuning& tuning, PromptTarget& target, const std::vector<int64_t>& test,
                      const std::vector<int64_t>& test_gold, DiscreteUserResult& r) {
  auto top = tuning.ranked(tuning.all_ids(), d.vote_prompts);
  for (auto id : top) r.top.push_back(tuning.candidate(id).prompt);
  std::vector<std::vector<int64_t>> preds;
  for (auto id : top) preds.push_back(target.predict(tuning.candidate(id).prompt.text, test));
  std::vector<int64_t> vote(test.size());
  for (size_t i = 0; i < test.size(); ++i) {
    std::vector<int64_t> column;
    for (const auto& p : preds) column.push_back(p[i]);
    vote[i] = majority_vote(column);
  }
  r.best_test = preds.empty() ? -1 : accuracy(preds[0], test_gold);
  r.vote_test = accuracy(vote, test_gold);
  auto initial_best = tuning.ranked(tuning.first_initial(), 1);
  if (!initial_best.empty()) r.initial_test = accuracy(target.predict(tuning.candidate(initial_best[0]).prompt.text, test), test_gold);
}

// One user: tunes on their training images, then scores the result on their test images.
DiscreteUserResult tune_user(const EmotuneConfig& c, const TuningRows& t, const std::string& user, PromptTarget& target,
                             PromptProposer& proposer, std::ofstream& history, const WorldFacts& world) {
  const auto& d = c.dpt;
  const auto train = training_images(c, user, t.of_user.at(user).first);
  const auto& test = t.of_user.at(user).second;
  std::fprintf(stderr, "== user %s: %zu training images\n", user.c_str(), train.size());
  UserTuning tuning(d, user, train, gold_of(t.gold, train), target, proposer, history);
  tuning.run();
  DiscreteUserResult r{user, static_cast<int64_t>(train.size()), static_cast<int64_t>(test.size()), tuning.size()};
  evaluate_on_test(d, tuning, target, test, gold_of(t.gold, test), r);
  if (auto limits = world.user_limits(user, c.data.eval_split)) r.bayes = limits->bayes;  // affect worlds know it
  std::fprintf(stderr, "user %s: %lld candidates, best train %.1f%%, test: best %.1f%%, vote %.1f%%\n", user.c_str(),
               static_cast<long long>(r.candidates), r.top.empty() ? 0.0 : 100 * r.top[0].score, 100 * r.best_test, 100 * r.vote_test);
  return r;
}

// results.json (every user's result and the spend) and report.md.
void write_results(const fs::path& dir, const DiscreteResult& result) {
  auto j = result.to_json();
  j["spend"] = {{"new_calls", result.spend.new_calls}, {"cached_calls", result.spend.cached_calls}, {"prompt_tokens", result.spend.prompt_tokens},
                {"completion_tokens", result.spend.completion_tokens}, {"usd", result.spend.usd}};
  write_file_atomic((dir / "results.json").string(), j.dump(2) + "\n");
  write_file_atomic((dir / "report.md").string(), result.report_markdown);
}
}  // namespace

DiscreteResult run_discrete_tuning(const EmotuneConfig& c) {
  const auto& d = c.dpt;
  auto manifest = load_data_manifest(c);
  const auto t = tuning_rows(c, manifest);
  std::unique_ptr<FrozenVLM> vlm;
  std::unique_ptr<ImageFeatures> images;
  if (d.target == "bundle") {
    vlm = open_bundle(c);
    images = std::make_unique<ImageFeatures>(*vlm, manifest, t.rows, false, c.data.cache_features, "encoding images",
                                             image_decoding(c.data));
  }
  const auto dir = fs::path(c.run_dir) / "dpt";
  ensure_directory(dir.string());
  CallCache cache((dir / "calls.jsonl").string());
  CallMeter meter(cache, {d.budget_usd, d.budget_tokens, d.stop_after_calls, "dpt"});
  auto target = make_prompt_target(c, t.rows, vlm.get(), images.get(), meter);
  auto proposer = make_prompt_proposer(c, meter);
  // The history is rewritten by every run: a resumed run regenerates the same candidates from the cache.
  std::ofstream history(dir / "history.jsonl", std::ios::trunc);
  const auto world = read_world_facts(c.data.manifest);

  DiscreteResult result;
  for (const auto& user : t.order) result.users.push_back(tune_user(c, t, user, *target, *proposer, history, world));
  result.spend = meter.spend();
  result.report_markdown = report_of(result, c.data.eval_split);
  write_results(dir, result);
  return result;
}

}  // namespace emotune
