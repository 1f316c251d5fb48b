// emotune: one binary, one subcommand per job. Errors meant for the user (bad config, bad data, bad bundle)
// end the program with their message and exit status 2; anything else is a bug and says so.
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/did_you_mean.h"
#include "core/error.h"
#include "core/openmp_policy.h"
#include "dist/communicator.h"

namespace {

// CLI11 answers an unknown first word with "A subcommand is required": name the word and the nearest
// subcommand instead (issue 34, finding 8). Empty when argv[1] is an option or a known subcommand.
std::string unknown_subcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
  const std::string word = argv[1];
  if (std::find(names.begin(), names.end(), word) != names.end()) return "";
  return "unknown subcommand '" + word + "'" + emotune::suggestion(word, names) + "; `emotune --help` lists them";
}

}  // namespace

int main(int argc, char** argv) {
  emotune::restart_with_passive_openmp(argv);
  CLI::App app{"emotune: teach a frozen vision-language model to recognise the emotion an image evokes (MASP)"};
  app.require_subcommand(1);
  emotune::register_train_commands(app);
  emotune::register_eval_command(app);
  emotune::register_predict_command(app);
  emotune::register_explain_command(app);
  emotune::register_info_command(app);
  emotune::register_ablate_command(app);
  emotune::register_synth_command(app);
  emotune::register_prepare_command(app);
  emotune::register_cache_pixels_command(app);
  emotune::register_sweep_command(app);
  emotune::register_report_command(app);
  emotune::register_personalize_command(app);
  emotune::register_tune_discrete_command(app);
  emotune::register_refine_command(app);
  emotune::register_fit_dimensions_command(app);
  emotune::register_tokenize_command(app);
  if (auto message = unknown_subcommand(app, argc, argv); !message.empty()) {
    std::fprintf(stderr, "emotune: error: %s\n", message.c_str());
    return 2;
  }
  try {
    // Launched by torchrun on several ranks: only the data-parallel commands may run so (docs/distributed.md).
    const auto& parallel = emotune::distributed_commands();
    if (argc > 1 && argv[1][0] != '-' && std::string(argv[1]) != "info" && emotune::launch_env().world_size > 1 &&
        std::find(parallel.begin(), parallel.end(), argv[1]) == parallel.end())
      emotune::raise("'emotune ", argv[1], "' runs as one process, but this one was launched as rank ", emotune::launch_env().rank,
                     " of ", emotune::launch_env().world_size,
                     " (RANK/WORLD_SIZE are set, as by torchrun); run it without torchrun. Data-parallel commands: "
                     "train-aspects, train-prompt, eval, ablate, sweep, personalize");
    app.parse(argc, argv);
    emotune::leave_world();  // a final barrier: no rank leaves (and rank 0's store closes) while others still work
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const emotune::Error& e) {
    std::fprintf(stderr, "\nemotune: error: %s\n", e.what());
    return 2;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "\nemotune: internal error (LibTorch): %s\n", e.what_without_backtrace());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nemotune: internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
