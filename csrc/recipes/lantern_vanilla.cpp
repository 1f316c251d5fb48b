#include "recipes/lantern_vanilla.h"

#include <torch/torch.h>

#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/evaluate.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

int64_t write_vanilla_from_model(const EmotuneConfig& c, const std::string& path) {
  auto manifest = load_data_manifest(c);
  std::map<std::string, std::vector<ManifestRow>> by_split;  // the sequences' rows only
  for (const auto& row : manifest.rows)
    if (!row.sequence.empty()) by_split[row.split].push_back(row);
  if (by_split.empty()) raise(c.data.manifest, ": no row lies in a sequence (fields 'sequence' and 'position', docs/data.md); Lantern refines sequences");
  auto vlm = open_bundle(c);
  const std::string& checkpoint = c.eval.checkpoint;
  auto model = make_emotion_model(*vlm, c, checkpoint, parts_in_checkpoint(checkpoint));
  EvalOptions options = eval_options(c);
  options.mode = EvalMode::Rank, options.inference = Inference::Plain;  // a distribution over the labels
  std::string lines;
  int64_t items = 0;
  for (const auto& [split, rows] : by_split) {
    ImageFeatures images(*vlm, manifest, rows, c.data.skip_bad_images, c.data.cache_features, "encoding " + split, image_decoding(c.data));
    if (images.skipped() > 0) raise(c.data.manifest, ": ", images.skipped(), " images of split '", split, "' could not be read; a sequence would have a gap");
    auto evaluation = evaluate_emotions(model, images, make_emotion_samples(images, c.data.labels), options);
    for (const auto& p : evaluation.predictions) {
      const auto& row = images.rows()[static_cast<size_t>(p.image)];
      const auto probabilities = label_distribution(p);
      nlohmann::json distribution = nlohmann::json::object();
      for (size_t k = 0; k < c.data.labels.size(); ++k) distribution[c.data.labels[k]] = probabilities.at(k);
      nlohmann::json j = {{"sequence", row.sequence}, {"index", row.position}, {"split", split}, {"gold", row.label},
                          {"probabilities", distribution}, {"image", row.image}};
      if (!row.speaker.empty()) j["speaker"] = row.speaker;
      if (!row.text.empty()) j["text"] = row.text;
      lines += j.dump() + "\n";
      ++items;
    }
  }
  write_file_atomic(path, lines);
  return items;
}

}  // namespace emotune
