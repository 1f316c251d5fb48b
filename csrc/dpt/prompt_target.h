// The model a discrete prompt is tuned for (paper 000: a black-box MLLM). Given a prompt and images, a target
// predicts one label per image; every prediction is one metered, cached call (llm/call_meter.h).
//   bundle: the local frozen VLM; the prompt (plus dpt.answer_format) is the user text after the image, and
//           the labels are ranked by log-likelihood (no soft prompt, no aspect modules).
//   openai: an OpenAI-compatible vision endpoint; the image travels inline as a base64 data URL and the
//           answer is mapped to the first label it names.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "llm/call_meter.h"

namespace emotune {

class ImageFeatures;
class FrozenVLM;
struct ManifestRow;

class PromptTarget {
 public:
  virtual ~PromptTarget() = default;
  // Label index per image (indices into the run's rows), -1 where the answer names no label.
  virtual std::vector<int64_t> predict(const std::string& prompt, const std::vector<int64_t>& images) = 0;
};

// The prompt as the target sees it: dpt.answer_format appended unless the prompt lists {labels} itself.
std::string render_target_prompt(const std::string& prompt, const std::string& answer_format,
                                 const std::vector<std::string>& labels);
// The label an answer names first (whole words, case-insensitive), or -1.
int64_t label_in_answer(const std::string& answer, const std::vector<std::string>& labels);

// `rows` are the images prompts are scored and tested on; `images` (the bundle target only) holds the same
// rows with their visual features.
std::unique_ptr<PromptTarget> make_prompt_target(const EmotuneConfig& config, const std::vector<ManifestRow>& rows,
                                                 FrozenVLM* vlm, ImageFeatures* images, CallMeter& meter);

}  // namespace emotune
