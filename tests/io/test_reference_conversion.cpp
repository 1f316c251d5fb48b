#include <torch/torch.h>

#include "io/checkpoint.h"
#include "masp/aspect_modules.h"
#include "test_support.h"

namespace emotune {
namespace {

// Fakes both plausible layouts of the reference release with python3-torch, converts them, and loads the
// result into emotune's aspect modules: every value must arrive unchanged under its contract name.
TEST(ReferenceConversion, ReleaseFilesMapOneToOne) {
  auto dir = testing::scratch_dir("ref");
  std::string make = R"PY(
import torch, sys
d = sys.argv[1]
torch.manual_seed(0)
aspects = ["facial_expression", "object", "scene", "human_action", "brightness", "colorfulness"]
nested = {}
for a in aspects:
    mha = torch.nn.MultiheadAttention(16, 1)
    nested[a] = {"query": torch.randn(5, 16), "attn": mha.state_dict()}
torch.save(nested, d + "/aspects.pth")
flat = {"module." + a + "." + k: v for a in aspects for k, v in [("query", nested[a]["query"])] + [("attn." + n, t) for n, t in nested[a]["attn"].items()]}
torch.save(flat, d + "/aspects_flat.pth")
torch.save(torch.randn(32, 16), d + "/soft_prompt.pt")
torch.save({a + "." + k: v for a in aspects for k, v in [("query", nested[a]["query"])] + [("attn." + n, t) for n, t in nested[a]["attn"].items()]}, d + "/expected.pth")
)PY";
  std::string out;
  ASSERT_EQ(testing::run_command("/usr/bin/python3 -c '" + make + "' " + dir, &out), 0) << out;
  auto script = testing::source_dir() + "/scripts/convert_reference_masp.py";
  for (const char* file : {"aspects.pth", "aspects_flat.pth"}) {
    auto target = dir + "/" + file + ".safetensors";
    ASSERT_EQ(testing::run_command("/usr/bin/python3 " + script + " --aspects " + dir + "/" + file + " --soft-prompt " + dir +
                                       "/soft_prompt.pt --out " + target, &out), 0) << out;
    auto ckpt = load_checkpoint(target);
    AspectModules modules(AspectModulesOptions{{"facial_expression", "object", "scene", "human_action", "brightness", "colorfulness"}, 16, 5, 0});
    modules->load(ckpt.tensors, target);
    EXPECT_EQ(ckpt.tensors.at("soft_prompt").sizes(), (std::vector<int64_t>{32, 16}));
    EXPECT_EQ(ckpt.info.stage, "prompt");
  }
  // Values, not just shapes: compare against a direct dump through python.
  ASSERT_EQ(testing::run_command("/usr/bin/python3 -c 'import torch,sys; e=torch.load(sys.argv[1]); print(float(e[\"scene.attn.in_proj_weight\"][3,4]), float(e[\"brightness.query\"][2,7]))' " + dir + "/expected.pth", &out), 0) << out;
  auto ckpt = load_checkpoint(dir + "/aspects.pth.safetensors");
  double w = 0, q = 0;
  ASSERT_EQ(std::sscanf(out.c_str(), "%lf %lf", &w, &q), 2) << out;
  EXPECT_FLOAT_EQ(ckpt.tensors.at("aspect.scene.in_proj_weight")[3][4].item<float>(), static_cast<float>(w));
  EXPECT_FLOAT_EQ(ckpt.tensors.at("aspect.brightness.query")[2][7].item<float>(), static_cast<float>(q));
}

}  // namespace
}  // namespace emotune
