#include <torch/torch.h>

#include <tuple>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "test_support.h"

namespace emotune {
namespace {

TEST(Safetensors, RoundTripIsExactForEveryDtype) {
  NamedTensors in{{"a.f32", torch::randn({3, 5})},
                  {"b.bf16", torch::randn({7}).to(torch::kBFloat16)},
                  {"c.f16", torch::randn({2, 2}).to(torch::kFloat16)},
                  {"d.i64", torch::arange(10, torch::kInt64).view({2, 5})},
                  {"e.u8", torch::randint(0, 255, {4}, torch::kUInt8)},
                  {"f.empty", torch::empty({0, 3})},
                  {"g.scalar", torch::tensor(3.5)}};
  auto path = testing::scratch_dir("st") + "/x.safetensors";
  save_safetensors(path, in, {{"note", "hello"}});
  auto out = load_safetensors(path);
  EXPECT_EQ(out.metadata.at("note"), "hello");
  ASSERT_EQ(out.tensors.size(), in.size());
  for (const auto& [name, t] : in) {
    EXPECT_EQ(out.tensors.at(name).scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(out.tensors.at(name), t)) << name;
  }
}

TEST(Safetensors, HeaderIsStandard) {
  auto bytes = serialize_safetensors({{"w", torch::ones({2})}}, {});
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  std::string header = bytes.substr(8, n);
  EXPECT_NE(header.find("\"w\":{\"data_offsets\":[0,8],\"dtype\":\"F32\",\"shape\":[2]}"), std::string::npos) << header;
}

TEST(Safetensors, TruncatedFileIsAClearError) {
  auto dir = testing::scratch_dir("st");
  auto bytes = serialize_safetensors({{"w", torch::randn({64})}}, {});
  for (size_t keep : {size_t{3}, size_t{20}, bytes.size() - 10}) {
    auto path = dir + "/t" + std::to_string(keep) + ".safetensors";
    write_file_atomic(path, bytes.substr(0, keep));
    try {
      load_safetensors(path);
      ADD_FAILURE() << "no error for a file truncated to " << keep << " bytes";
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("not a safetensors") != std::string::npos) << msg;
    }
  }
}

TEST(Safetensors, CorruptHeaderIsAClearError) {
  auto path = testing::scratch_dir("st") + "/c.safetensors";
  std::string bytes(8, '\0');
  bytes[0] = 5;
  bytes += "{oops";
  write_file_atomic(path, bytes);
  EXPECT_THROW(load_safetensors(path), Error);
}

// The byte ranges must tile the data section: aliased tensors (overlap), holes and trailing bytes are refused,
// naming the tensor (issue 34, finding 3).
TEST(Safetensors, DataOffsetsMustTileTheDataSection) {
  auto file = [](const std::string& header, size_t data_bytes) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return bytes + header + std::string(data_bytes, '\1');
  };
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":)", b = R"("b":{"dtype":"F32","shape":[2],"data_offsets":)";
  const std::vector<std::tuple<std::string, size_t, std::string>> cases{
      {"{" + a + "[0,8]}," + b + "[4,12]}}", 12, "overlaps"},
      {"{" + a + "[0,8]}," + b + "[0,8]}}", 8, "overlaps"},
      {"{" + a + "[0,8]}," + b + "[12,20]}}", 20, "gap of 4 bytes before tensor 'b'"},
      {"{" + a + "[0,8]}}", 12, "4 bytes after the last tensor"},
  };
  for (const auto& [header, data, needle] : cases) {
    try {
      parse_safetensors(file(header, data), "x.safetensors");
      ADD_FAILURE() << "accepted " << header;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_safetensors(file("{" + a + "[0,8]}," + b + "[8,16]}}", 16), "ok").tensors.size(), 2u);
}

TEST(Checkpoint, MetadataRecordsStageBundleStepAndConfig) {
  auto path = testing::scratch_dir("ck") + "/c.safetensors";
  save_checkpoint(path, {{"soft_prompt", torch::randn({4, 8})}}, {"prompt", "tiny", 42, "seed: 1\n"});
  auto c = load_checkpoint(path);
  auto summary = summarize_checkpoint(path);
  EXPECT_EQ(summary.info.step, 42);
  EXPECT_TRUE(summary.has("soft_prompt"));
  EXPECT_FALSE(summary.has_prefix("aspect."));
  EXPECT_EQ(c.info.stage, "prompt");
  EXPECT_EQ(c.info.bundle, "tiny");
  EXPECT_EQ(c.info.step, 42);
  EXPECT_EQ(c.info.config_yaml, "seed: 1\n");
}

}  // namespace
}  // namespace emotune
