// The report of `emotune personalize`: one row per user, then the spread over users of every setting.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "recipes/personalize.h"

namespace emotune {
namespace {

struct Spread {
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t n = 0;
};

Spread spread_of(const std::vector<double>& v) {
  Spread s;
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  s.min = s.max = v.front();
  for (double x : v) s.mean += x, s.min = std::min(s.min, x), s.max = std::max(s.max, x);
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  return s;
}

std::string pct(double v) {
  if (v < 0) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * v);
  return buf;
}

}  // namespace

PersonalizeResult summarize_personalization(std::vector<UserResult> users, const std::string& split) {
  PersonalizeResult r;
  std::vector<std::string> settings;
  for (const auto& u : users)
    for (const auto& [name, acc] : u.accuracy)
      if (std::find(settings.begin(), settings.end(), name) == settings.end()) settings.push_back(name);
  const bool world = !users.empty() && users.front().bayes >= 0;
  std::ostringstream t;
  t << "Per-user accuracy (%) on split '" << split << "'" << (world ? "; Bayes and best non-personal rule from world.json" : "") << ".\n\n";
  t << "| user | fit / held out / test |";
  for (const auto& s : settings) t << " " << s << " |";
  if (world) t << " best non-personal rule | Bayes limit |";
  t << "\n|---|---|";
  for (size_t k = 0; k < settings.size() + (world ? 2 : 0); ++k) t << "---|";
  t << "\n";
  std::map<std::string, std::vector<double>> columns;
  nlohmann::json per_user = nlohmann::json::array();
  for (const auto& u : users) {
    t << "| " << u.user << " | " << u.fit << " / " << u.holdout << " / " << u.test << " |";
    nlohmann::json j = {{"user", u.user}, {"fit", u.fit}, {"holdout", u.holdout}, {"test", u.test}};
    for (const auto& s : settings) {
      double acc = -1;
      for (const auto& [name, a] : u.accuracy)
        if (name == s) acc = a;
      t << " " << pct(acc) << " |";
      if (acc >= 0) columns[s].push_back(acc), j["accuracy"][s] = acc;
    }
    if (world) {
      t << " " << pct(u.global_rule) << " | " << pct(u.bayes) << " |";
      columns["best non-personal rule"].push_back(u.global_rule);
      columns["Bayes limit"].push_back(u.bayes);
      j["bayes"] = u.bayes, j["global_rule"] = u.global_rule;
    }
    if (u.prompt_steps >= 0) j["prompt_steps"] = u.prompt_steps;
    if (u.head_steps >= 0) j["head_steps"] = u.head_steps;
    t << "\n";
    per_user.push_back(j);
  }
  t << "\nOver " << users.size() << " users:\n\n| setting | mean | std | min | max |\n|---|---|---|---|---|\n";
  auto order = settings;
  if (world) order.push_back("best non-personal rule"), order.push_back("Bayes limit");
  nlohmann::json over = nlohmann::json::object();
  for (const auto& s : order) {
    auto sp = spread_of(columns[s]);
    t << "| " << s << " | " << pct(sp.mean) << " | " << pct(sp.std) << " | " << pct(sp.min) << " | " << pct(sp.max) << " |\n";
    over[s] = {{"mean", sp.mean}, {"std", sp.std}, {"min", sp.min}, {"max", sp.max}, {"users", sp.n}};
  }
  r.report_markdown = t.str();
  r.summary = {{"split", split}, {"over_users", over}, {"per_user", per_user}};
  r.users = std::move(users);
  return r;
}

}  // namespace emotune
