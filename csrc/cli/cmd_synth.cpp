#include <cstdio>

#include "cli/commands.h"
#include "synth/affect_world.h"

namespace emotune {

void register_synth_command(CLI::App& app) {
  auto o = std::make_shared<WorldOptions>();
  auto* cmd = app.add_subcommand("synth", "render a seeded affect-world dataset (images, manifest.jsonl, world.json with Bayes limits)");
  cmd->add_option("--out", o->out_dir, "output directory")->required();
  cmd->add_option("--images", o->images, "number of images")->capture_default_str();
  cmd->add_option("--size", o->size, "image side in pixels")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
  cmd->add_option("--sharpness", o->sharpness, "kappa of p(emotion | aspects); larger means less label noise")->capture_default_str();
  cmd->callback([o] {
    auto summary = synthesize_world(*o);
    for (const auto& s : summary.splits)
      std::printf("%-5s %6lld images, Bayes-optimal accuracy %.2f%%\n", s.name.c_str(), static_cast<long long>(s.images), 100.0 * s.bayes_accuracy);
    std::printf("manifest: %s\n", summary.manifest.c_str());
  });
}

}  // namespace emotune
