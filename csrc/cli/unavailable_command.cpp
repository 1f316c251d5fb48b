#include "cli/commands.h"
#include "core/error.h"

namespace emotune {

void register_unavailable_command(CLI::App& app, const std::string& name, const std::string& what) {
  auto* cmd = app.add_subcommand(name, "(unavailable in this build: it " + what + ", built without it)");
  cmd->allow_extras();
  cmd->callback([name, what] {
    raise("`emotune ", name, "` is unavailable: it ", what, ", and this emotune was built without OpenCV "
          "(EMOTUNE_WITH_OPENCV off, as on the GPU machines; docs/gpu.md). Run it where OpenCV is installed");
  });
}

}  // namespace emotune
