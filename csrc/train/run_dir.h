// A run directory and the files in it: the one place that names them. The trainer writes checkpoint,
// resume and metrics; recipes put each stage of a workflow in a sub-directory (run_dir/aspects,
// run_dir/prompt, …) so that an interrupted workflow resumes stage by stage.
#pragma once
#include <filesystem>
#include <string>

namespace emotune {

class RunDir {
 public:
  static constexpr const char* kCheckpointFile = "checkpoint.safetensors";  // the trained tensors (eval, predict)
  static constexpr const char* kResumeFile = "resume.safetensors";          // the same plus optimizer state
  static constexpr const char* kMetricsFile = "metrics.jsonl";              // one JSON object per optimizer step

  explicit RunDir(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // A stage's own directory inside this one.
  RunDir sub(const std::string& name) const { return RunDir(file(name)); }
  std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  std::string checkpoint() const { return file(kCheckpointFile); }
  std::string resume() const { return file(kResumeFile); }
  std::string metrics() const { return file(kMetricsFile); }

 private:
  std::string path_;
};

}  // namespace emotune
