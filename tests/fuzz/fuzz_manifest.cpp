// The JSONL manifest (data/manifest.h). Input: one byte choosing data.duplicate_rows (odd: drop), the file.
#include "data/manifest.h"
#include "fuzz_target.h"

EMOTUNE_FUZZ_TARGET(manifest) {
  using namespace emotune;
  if (input.empty()) return;
  const bool drop_duplicates = static_cast<unsigned char>(input[0]) & 1;
  auto manifest = load_manifest(fuzz::scratch_file("manifest.jsonl", input.substr(1)), drop_duplicates);
  for (const auto& row : manifest.rows) manifest.where(row);
  manifest.split("train", 3);
}
