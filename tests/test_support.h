// Helpers shared by the tests: the tiny bundle, scratch directories, small datasets written to disk.
#pragma once
#include <gtest/gtest.h>

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace emotune::testing {

std::string tiny_bundle();
// The devices every test that takes a device runs on: cpu and cuda. A case on a device this machine lacks skips,
// saying so (EMOTUNE_SKIP_UNLESS_DEVICE), so CI lists the CUDA cases it could not run.
std::vector<std::string> test_devices();
bool device_available(const std::string& device);
#define EMOTUNE_SKIP_UNLESS_DEVICE(device) \
  if (!::emotune::testing::device_available(device)) GTEST_SKIP() << "no " << (device) << " device here"
std::string source_dir();
std::string emotune_binary();
// A fresh empty directory under the system temp dir, unique per test.
std::string scratch_dir(const std::string& name);
// A small affect world (synth) in `dir`; returns the manifest path. Cached per (images, seed) within a process.
std::string small_world(int64_t images, uint64_t seed = 5);
// tests/fixtures/<name>/hf (a random-init Hugging Face Qwen2-VL or LLaVA-NeXT checkpoint) exported by its
// scripts/export/export_*.py in fp32 at the fixture's image size; exported once per build (CMake's
// fixture_bundles target).
std::string fixture_bundle(const std::string& name);
// `text` written to <a fresh scratch dir named `name`>/config.yaml; returns the path.
std::string write_yaml(const std::string& text, const std::string& name = "cfg");
// The message of the emotune::Error `f` raises, or "" when it raises none.
std::string error_message(const std::function<void()>& f);
// The message of the error load_config(files, overrides) raises, or "" when it loads.
std::string config_error(const std::vector<std::string>& files, const std::vector<std::string>& overrides = {});
// A config on the tiny bundle and the given manifest, with small, fast training settings.
EmotuneConfig small_config(const std::string& manifest, const std::string& run_dir);
// Randomly initialised (untrained) aspect modules of `c`'s aspects, saved to a fresh checkpoint; returns its path.
std::string random_aspects_checkpoint(const EmotuneConfig& c, int64_t hidden_size);
// The loss of every step in run_dir/metrics.jsonl, and the mean of v[from, to).
std::vector<double> logged_losses(const std::string& run_dir);
double mean_of(const std::vector<double>& v, size_t from, size_t to);
// Runs a shell command, returns its exit status; stdout+stderr go to *output.
int run_command(const std::string& command, std::string* output, bool with_stderr = true);
// Every tensor of two safetensors files equal bit for bit.
void expect_same_tensors(const std::string& a, const std::string& b);
// Autograd's gradient of `objective` (already back-propagated into the parameters' .grad) against central
// finite differences at a handful of elements of each parameter (fp64 parameters; step 1e-6, tolerance 1e-6).
void expect_gradients_match_finite_differences(const std::vector<torch::Tensor*>& parameters,
                                               const std::function<torch::Tensor()>& objective);

}  // namespace emotune::testing
