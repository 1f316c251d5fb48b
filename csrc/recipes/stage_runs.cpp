#include "recipes/stage_runs.h"

#include <cstdio>

#include "masp/stages.h"

namespace emotune {

std::string ensure_aspects(const EmotuneConfig& config, const RunDir& dir, const std::string& workflow,
                           const ConfigOverlay& stage1) {
  if (!config.masp.aspects_checkpoint.empty()) return config.masp.aspects_checkpoint;
  EmotuneConfig c = with_overlay(config, stage1);
  c.run_dir = dir.path();
  std::fprintf(stderr, "== %s stage 1: aspect modules -> %s\n", workflow.c_str(), dir.path().c_str());
  train_aspects(c);
  return dir.checkpoint();
}

std::string train_prompt_into(EmotuneConfig config, const RunDir& dir, const std::string& workflow, const std::string& what) {
  config.run_dir = dir.path();
  std::fprintf(stderr, "== %s stage 2, %s -> %s\n", workflow.c_str(), what.c_str(), dir.path().c_str());
  train_prompt(config);
  return dir.checkpoint();
}

}  // namespace emotune
