#include <cstdio>

#include "cli/commands.h"
#ifdef EMOTUNE_WITH_OPENCV
#include "report/run_report.h"
#endif

namespace emotune {

#ifdef EMOTUNE_WITH_OPENCV

void register_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "PNG plots and a Markdown summary of a run directory (curves, confusion, per-class accuracy, Figure-4 attention)");
  cmd->add_option("run_dir", o->run_dir, "the run directory")->required();
  cmd->add_option("--out", o->out_dir, "output directory (default: RUN_DIR/report)");
  cmd->add_option("--attention-images", o->attention_images, "eval images averaged for the attention figure")->capture_default_str();
  cmd->callback([o] {
    auto r = write_run_report(*o);
    std::printf("%zu figures; summary: %s\n", r.figures.size(), r.summary_path.c_str());
  });
}

#else

void register_report_command(CLI::App& app) {
  register_unavailable_command(app, "report", "draws its figures with OpenCV");
}

#endif

}  // namespace emotune
