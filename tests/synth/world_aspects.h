// An affect world's manifest row read back into the generator's aspect indices (synth/affect_world.h), so tests
// can recompute p(emotion | aspects) from what the world wrote.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "synth/affect_world.h"

namespace emotune::testing {

inline int index_in(const std::vector<std::string>& names, const nlohmann::json& value) {
  auto it = std::find(names.begin(), names.end(), value.get<std::string>());
  EXPECT_NE(it, names.end()) << value;
  return static_cast<int>(it - names.begin());
}

inline WorldAspects aspects_of(const nlohmann::json& row) {
  const auto& a = row["aspects"];
  WorldAspects w;
  w.scene = index_in(world_scenes(), a["scene"]);
  for (const auto& ob : a["object"]) w.objects.push_back(index_in(world_objects(), ob));
  if (a.contains("facial_expression")) w.expression = index_in(world_expressions(), a["facial_expression"]);
  if (a.contains("human_action")) w.action = index_in(world_actions(), a["human_action"]);
  w.brightness = a["brightness"], w.colorfulness = a["colorfulness"];
  return w;
}

}  // namespace emotune::testing
