#include "test_support.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "masp/stages.h"
#ifdef EMOTUNE_WITH_OPENCV
#include "synth/affect_world.h"
#endif

namespace emotune::testing {
namespace fs = std::filesystem;

std::string tiny_bundle() { return EMOTUNE_TINY_BUNDLE; }
std::string source_dir() { return EMOTUNE_SOURCE_DIR; }
std::string emotune_binary() { return EMOTUNE_BINARY; }

std::string scratch_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string id = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
  auto dir = fs::temp_directory_path() / ("emotune-test-" + std::to_string(::getpid())) / id / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string write_yaml(const std::string& text, const std::string& name) {
  auto path = scratch_dir(name) + "/config.yaml";
  std::ofstream(path) << text;
  return path;
}

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string config_error(const std::vector<std::string>& files, const std::vector<std::string>& overrides) {
  return error_message([&] { load_config(files, overrides); });
}

std::string fixture_bundle(const std::string& name) {
  auto dir = std::string(EMOTUNE_FIXTURE_BUNDLES) + "/" + name;
  if (!fs::exists(dir + "/bundle.yaml"))
    throw std::runtime_error("no exported fixture " + dir + ": the build's fixture_bundles target writes it");
  return dir;
}

std::vector<std::string> test_devices() { return {"cpu", "cuda"}; }

bool device_available(const std::string& device) { return device == "cpu" || torch::cuda::is_available(); }

#ifdef EMOTUNE_WITH_OPENCV
std::string small_world(int64_t images, uint64_t seed) {
  static std::map<std::pair<int64_t, uint64_t>, std::string> cache;
  auto key = std::make_pair(images, seed);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto dir = fs::temp_directory_path() / ("emotune-test-" + std::to_string(::getpid())) /
             ("world-" + std::to_string(images) + "-" + std::to_string(seed));
  fs::remove_all(dir);
  WorldOptions o;
  o.out_dir = dir.string();
  o.images = images;
  o.seed = seed;
  return cache[key] = synthesize_world(o).manifest;
}
#endif

EmotuneConfig small_config(const std::string& manifest, const std::string& run_dir) {
  EmotuneConfig c = load_config({}, {});
  c.bundle = tiny_bundle();
  c.run_dir = run_dir;
  c.seed = 11;
  c.threads = 2;
  c.data.manifest = manifest;
  c.masp.aspects = {"object", "scene", "brightness", "colorfulness"};
  for (auto it = c.masp.questions.begin(); it != c.masp.questions.end();)
    it = std::find(c.masp.aspects.begin(), c.masp.aspects.end(), it->first) == c.masp.aspects.end() ? c.masp.questions.erase(it) : std::next(it);
  c.masp.soft_prompt_length = 4;
  c.train.batch_size = 4;
  c.train.lr = 3e-3;
  c.train.weight_decay = 0.0;
  c.train.max_steps = 6;
  c.train.checkpoint_every = 2;
  return c;
}

std::vector<double> logged_losses(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());  // not the validation lines (val_loss)
  }
  return out;
}

double mean_of(const std::vector<double>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

int run_command(const std::string& command, std::string* output, bool with_stderr) {
  output->clear();
  FILE* pipe = ::popen((command + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output->append(buf, n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void expect_gradients_match_finite_differences(const std::vector<torch::Tensor*>& parameters,
                                               const std::function<torch::Tensor()>& objective) {
  const double h = 1e-6;
  for (auto* p : parameters) {
    auto flat = p->data().view(-1);
    auto grad = p->grad().defined() ? p->grad().view(-1) : torch::zeros_like(flat);
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 7)) {
      double orig = flat[i].item<double>();
      torch::NoGradGuard ng;
      flat[i] = orig + h;
      double up = objective().item<double>();
      flat[i] = orig - h;
      double down = objective().item<double>();
      flat[i] = orig;
      EXPECT_NEAR(grad[i].item<double>(), (up - down) / (2 * h), 1e-6);
    }
  }
}

void expect_same_tensors(const std::string& a, const std::string& b) {
  auto x = load_safetensors(a).tensors, y = load_safetensors(b).tensors;
  ASSERT_EQ(x.size(), y.size());
  for (const auto& [name, t] : x) {
    ASSERT_TRUE(y.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, y.at(name))) << name << " differs between " << a << " and " << b;
  }
}

std::string random_aspects_checkpoint(const EmotuneConfig& c, int64_t hidden_size) {
  auto path = scratch_dir("aspects") + "/random.safetensors";
  save_safetensors(path, load_aspect_modules(c, hidden_size, "")->named_tensors());
  return path;
}

}  // namespace emotune::testing
