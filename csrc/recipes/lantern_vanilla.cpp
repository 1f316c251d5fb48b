#include "recipes/lantern_vanilla.h"

#include <torch/torch.h>

#include <map>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/text.h"
#include "dimensions/dimension_features.h"
#include "dimensions/dimension_head.h"
#include "eval/evaluate.h"
#include "masp/stages.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

namespace {
// The head whose ratings the file will carry (none without eval.dimension_head); lantern.dimensions may only repeat
// its names.
std::optional<DimensionHead> vanilla_dimension_head(const EmotuneConfig& c) {
  if (c.eval.dimension_head.empty()) {
    if (!c.lantern.dimensions.empty())
      raise("config key 'lantern.dimensions' names dimension scores, and emotune's own vanilla model (lantern.vanilla empty) rates them only "
            "with a dimension head: set eval.dimension_head (emotune fit-dimensions), leave lantern.dimensions empty, or give a vanilla file that has them");
    return std::nullopt;
  }
  auto head = load_dimension_head(c.eval.dimension_head);
  if (!c.lantern.dimensions.empty() && c.lantern.dimensions != head.names)
    raise("config key 'lantern.dimensions' is [", joined(c.lantern.dimensions), "], and eval.dimension_head (", c.eval.dimension_head, ") rates [",
          joined(head.names), "]; leave lantern.dimensions empty to take the head's");
  return head;
}
}  // namespace

VanillaWritten write_vanilla_from_model(const EmotuneConfig& c, const std::string& path) {
  const auto head = vanilla_dimension_head(c);
  VanillaWritten written{0, head ? head->names : std::vector<std::string>{}};
  auto manifest = load_data_manifest(c);
  std::map<std::string, std::vector<ManifestRow>> by_split;  // the sequences' rows only
  for (const auto& row : manifest.rows)
    if (!row.sequence.empty()) by_split[row.split].push_back(row);
  if (by_split.empty()) raise(c.data.manifest, ": no row lies in a sequence (fields 'sequence' and 'position', docs/data.md); Lantern refines sequences");
  auto vlm = open_bundle(c);
  const std::string& checkpoint = c.eval.checkpoint;
  auto model = make_emotion_model(*vlm, c, checkpoint, parts_in_checkpoint(checkpoint));
  if (head) check_dimension_head(*head, c.eval.dimension_head, checkpoint, model);  // once, not per split
  EvalOptions options = eval_options(c);
  options.mode = EvalMode::Rank, options.inference = Inference::Plain;  // a distribution over the labels
  std::string lines;
  for (const auto& [split, rows] : by_split) {
    ImageFeatures images(*vlm, manifest, rows, c.data.skip_bad_images, c.data.cache_features, "encoding " + split, image_decoding(c.data));
    if (images.skipped() > 0) raise(c.data.manifest, ": ", images.skipped(), " images of split '", split, "' could not be read; a sequence would have a gap");
    auto evaluation = evaluate_emotions(model, images, make_emotion_samples(images, c.data.labels), options);
    if (head) evaluation.dimensions = score_dimensions(*head, c.eval.dimension_head, model, images, evaluation, options);
    for (const auto& p : evaluation.predictions) {
      const auto& row = images.rows()[static_cast<size_t>(p.image)];
      const auto probabilities = label_distribution(p);
      nlohmann::json distribution = nlohmann::json::object();
      for (size_t k = 0; k < c.data.labels.size(); ++k) distribution[c.data.labels[k]] = probabilities.at(k);
      nlohmann::json j = {{"sequence", row.sequence}, {"index", row.position}, {"split", split}, {"gold", row.label},
                          {"probabilities", distribution}, {"image", row.image}};
      if (!row.speaker.empty()) j["speaker"] = row.speaker;
      if (!row.text.empty()) j["text"] = row.text;
      if (!written.dimensions.empty()) {
        const auto ratings = evaluation.dimensions.values[static_cast<int64_t>(&p - evaluation.predictions.data())];
        for (size_t d = 0; d < written.dimensions.size(); ++d) j["dimensions"][written.dimensions[d]] = ratings[static_cast<int64_t>(d)].item<double>();
      }
      lines += j.dump() + "\n";
      ++written.items;
    }
  }
  write_file_atomic(path, lines);
  return written;
}

}  // namespace emotune
