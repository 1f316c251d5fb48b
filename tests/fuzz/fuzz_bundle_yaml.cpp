// bundle.yaml, the description of a frozen VLM (vlm/bundle_spec.h).
#include <filesystem>

#include "fuzz_target.h"
#include "vlm/bundle_spec.h"

EMOTUNE_FUZZ_TARGET(bundle_yaml) {
  using namespace emotune;
  const auto path = fuzz::scratch_file("bundle.yaml", input);
  load_bundle_spec(std::filesystem::path(path).parent_path().string());
}
