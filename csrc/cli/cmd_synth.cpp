#include <cstdio>

#include "cli/commands.h"
#ifdef EMOTUNE_WITH_OPENCV
#include "synth/affect_world.h"
#endif

namespace emotune {

#ifdef EMOTUNE_WITH_OPENCV

void register_synth_command(CLI::App& app) {
  auto o = std::make_shared<WorldOptions>();
  auto* cmd = app.add_subcommand("synth", "render a seeded affect-world dataset (images, manifest.jsonl, world.json with Bayes limits)");
  cmd->add_option("--out", o->out_dir, "output directory")->required();
  cmd->add_option("--images", o->images, "number of images")->capture_default_str();
  cmd->add_option("--size", o->size, "image side in pixels")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
  cmd->add_option("--sharpness", o->sharpness, "kappa of p(emotion | aspects); larger means less label noise")->capture_default_str();
  cmd->add_option("--face-probability", o->face_probability, "share of images that show a face")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--action-probability", o->action_probability, "share of images that show a person acting")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--users", o->users, "synthetic users, each with their own p(emotion | aspects) (0: none)")->capture_default_str();
  cmd->add_option("--user-spread", o->user_spread, "std. dev. of each user's perturbation of the table (logit units)")->capture_default_str();
  cmd->add_option("--user-train-fraction", o->user_train_fraction, "share of each user's images for training")->capture_default_str();
  cmd->add_option("--user-val-fraction", o->user_val_fraction, "share of each user's images for validation")->capture_default_str();
  cmd->add_option("--sequences", o->sequences.sequences, "group images into this many sequences with emotional inertia (Lantern; 0: none)")
      ->capture_default_str();
  cmd->add_option("--sequence-length", o->sequences.length, "images per sequence")->capture_default_str();
  cmd->add_option("--inertia", o->sequences.inertia, "probability that a sequence's next label is the same")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->callback([o] {
    auto summary = synthesize_world(*o);
    for (const auto& s : summary.splits)
      std::printf("%-5s %6lld images, Bayes-optimal accuracy %.2f%%\n", s.name.c_str(), static_cast<long long>(s.images), 100.0 * s.bayes_accuracy);
    if (!summary.users.empty()) {
      double bayes = 0, global_rule = 0;
      for (const auto& u : summary.users) bayes += u.splits[2].bayes_accuracy, global_rule += u.splits[2].global_rule_accuracy;
      const auto n = static_cast<double>(summary.users.size());
      std::printf("%zu users; test split, mean over users: per-user Bayes limit %.2f%%, best non-personal rule %.2f%%\n",
                  summary.users.size(), 100.0 * bayes / n, 100.0 * global_rule / n);
    }
    for (const auto& s : summary.sequences)
      std::printf("%-5s %6lld sequences of %lld, Bayes limit context-free %.2f%%, seeing the whole sequence %.2f%%\n", s.name.c_str(),
                  static_cast<long long>(s.sequences), static_cast<long long>(o->sequences.length), 100.0 * s.bayes_context_free,
                  100.0 * s.bayes_sequence);
    std::printf("manifest: %s\n", summary.manifest.c_str());
  });
}

#else

void register_synth_command(CLI::App& app) {
  register_unavailable_command(app, "synth", "draws the world's images with OpenCV");
}

#endif

}  // namespace emotune
