// emotune: one binary, one subcommand per job. Errors meant for the user (bad config, bad data, bad bundle)
// end the program with their message and exit status 2; anything else is a bug and says so.
#include <c10/util/Exception.h>

#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "core/openmp_policy.h"

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
  emotune::register_sweep_command(app);
  emotune::register_report_command(app);
  emotune::register_personalize_command(app);
  emotune::register_tune_discrete_command(app);
  emotune::register_tokenize_command(app);
  try {
    app.parse(argc, argv);
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
