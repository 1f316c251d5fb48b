#include "data/world_facts.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
double number_at(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number())
    raise(where, ": expected a number '", key, "'");
  return object[key].get<double>();
}
}  // namespace

WorldFacts WorldFacts::parse(const std::string& text, const std::string& source) {
  auto info = nlohmann::json::parse(text, nullptr, false);
  if (info.is_discarded() || !info.is_object()) raise(source, ": not a JSON object (an affect world's world.json)");
  WorldFacts facts;
  if (info.contains("splits")) {
    if (!info["splits"].is_object()) raise(source, ": 'splits' must be an object of splits");
    for (const auto& [split, entry] : info["splits"].items())
      facts.split_bayes_[split] = number_at(entry, "bayes_accuracy", source + ": splits." + split);
  }
  if (info.contains("dimensions") && info["dimensions"].contains("splits")) {
    for (const auto& [split, entry] : info["dimensions"]["splits"].items())
      for (const auto& [dimension, errors] : entry.items())
        facts.dimension_bayes_mse_[{split, dimension}] = number_at(errors, "bayes_mse", source + ": dimensions.splits." + split + "." + dimension);
  }
  if (info.contains("users") && info["users"].contains("per_user")) {
    for (const auto& [user, entry] : info["users"]["per_user"].items()) {
      if (!entry.contains("splits")) continue;  // a user with no images in any split
      for (const auto& [split, limits] : entry["splits"].items()) {
        const std::string where = source + ": users.per_user." + user + ".splits." + split;
        facts.users_[{user, split}] = {number_at(limits, "bayes_accuracy", where), number_at(limits, "global_rule_accuracy", where)};
      }
    }
  }
  return facts;
}

std::optional<double> WorldFacts::split_bayes(const std::string& split) const {
  auto it = split_bayes_.find(split);
  if (it == split_bayes_.end()) return std::nullopt;
  return it->second;
}

std::optional<UserLimits> WorldFacts::user_limits(const std::string& user, const std::string& split) const {
  auto it = users_.find({user, split});
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> WorldFacts::dimension_bayes_mse(const std::string& split, const std::string& dimension) const {
  auto it = dimension_bayes_mse_.find({split, dimension});
  if (it == dimension_bayes_mse_.end()) return std::nullopt;
  return it->second;
}

WorldFacts read_world_facts(const std::string& manifest_path) {
  const auto path = fs::path(manifest_path).parent_path() / "world.json";
  if (!fs::exists(path)) return {};
  return WorldFacts::parse(read_file(path.string()), path.string());
}

}  // namespace emotune
