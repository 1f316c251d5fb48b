#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "core/atomic_file.h"
#include "core/error.h"
#include "test_support.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {
namespace fs = std::filesystem;

std::string copy_bundle(const std::string& name) {
  auto dir = testing::scratch_dir(name);
  fs::remove_all(dir);
  fs::copy(testing::tiny_bundle(), dir, fs::copy_options::recursive);
  return dir;
}

void edit_yaml(const std::string& dir, const std::string& pattern, const std::string& replacement) {
  auto path = dir + "/bundle.yaml";
  auto text = std::regex_replace(read_file(path), std::regex(pattern), replacement);
  write_file_atomic(path, text);
}

std::string load_error(const std::string& dir) {
  try {
    load_frozen_vlm(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Bundle, TinyBundleLoadsAndAgreesWithItsContract) {
  auto vlm = load_frozen_vlm(testing::tiny_bundle());
  const auto& s = vlm->spec();
  auto v = vlm->encode_image(torch::zeros({2, 3, s.image.height, s.image.width}));
  EXPECT_EQ(v.sizes(), (std::vector<int64_t>{2, s.visual_tokens, s.hidden_size}));
  auto ids = torch::tensor({{1, 2, 3}}, torch::kInt64);
  auto logits = vlm->forward(vlm->embed_tokens(ids), torch::ones({1, 3}, torch::kInt64));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 3, s.vocab_size}));
  EXPECT_FALSE(logits.requires_grad()) << "the frozen VLM's parameters must not require grad";
  // forward_rows picks the same logits as the full forward.
  auto rows = torch::tensor({{false, true, true}});
  EXPECT_TRUE(torch::allclose(vlm->forward_rows(vlm->embed_tokens(ids), torch::ones({1, 3}, torch::kInt64), rows), logits[0].slice(0, 1, 3), 1e-5, 1e-6));
  auto text = "<|im_start|>user\nHow bright is the image?<|im_end|>\n";
  EXPECT_EQ(vlm->tokenizer().decode(vlm->tokenizer().encode(text)), text);
  EXPECT_EQ(vlm->tokenizer().encode(s.chat.end_of_turn).size(), 1u);
}

TEST(Bundle, WrongHiddenSizeNamesTheMismatch) {
  auto dir = copy_bundle("b");
  edit_yaml(dir, "hidden_size: 64", "hidden_size: 48");
  auto msg = load_error(dir);
  EXPECT_NE(msg.find("encode_image returned shape [1, 16, 64], expected [1, 16 (image.visual_tokens), 48 (hidden_size)]"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir + "/vlm.pt"), std::string::npos) << msg;
}

TEST(Bundle, MissingMethodIsNamed) {
  auto dir = copy_bundle("b");
  torch::jit::Module m("NoImage");
  m.register_parameter("table", torch::randn({512, 64}), false);
  m.define(R"(
def embed_tokens(self, ids):
    return self.table[ids]
def forward(self, embeds, mask):
    return embeds @ self.table.t()
)");
  m.save(dir + "/vlm.pt");
  auto msg = load_error(dir);
  EXPECT_NE(msg.find("has no method 'encode_image'"), std::string::npos) << msg;
}

TEST(Bundle, YamlProblemsNameFileAndKey) {
  auto dir = copy_bundle("b");
  edit_yaml(dir, "hidden_size: 64", "hiden_size: 64");
  auto msg = load_error(dir);
  EXPECT_NE(msg.find(dir + "/bundle.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'hidden_size'"), std::string::npos) << msg;

  auto dir2 = copy_bundle("c");
  edit_yaml(dir2, "vocab_size: 512", "vocab_size: 100");
  msg = load_error(dir2);
  EXPECT_TRUE(msg.find("tokenizer has 512 pieces but bundle.yaml vocab_size is 100") != std::string::npos ||
              msg.find("special_tokens") != std::string::npos) << msg;

  auto dir3 = copy_bundle("d");
  fs::remove(dir3 + "/tokenizer.model");
  EXPECT_NE(load_error(dir3).find("tokenizer.model: tokenizer file not found"), std::string::npos);
  EXPECT_NE(load_error(dir3 + "/nope").find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace emotune
