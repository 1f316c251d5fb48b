#include "report/run_report.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "masp/stages.h"
#include "report/chart.h"
#include "report/sepm_figure.h"
#include "train/run_dir.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace fs = std::filesystem;

namespace {
// Files named `name` below `root`, sorted, skipping the report's own folder.
std::vector<fs::path> find_files(const fs::path& root, const std::string& name, const fs::path& skip) {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && fs::equivalent(it->path(), skip)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().filename() == name) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string slug(const fs::path& dir, const fs::path& root) {
  auto s = dir.lexically_relative(root).generic_string();
  if (s.empty() || s == ".") s = root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  if (s.empty() || s == ".") s = "run";
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

std::string fixed(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Loss per step of one metrics.jsonl, its exponential moving average, and the validation loss where the run
// logged one (train.validation_split: "val_loss" lines).
std::vector<Series> loss_curves(const fs::path& file, const std::string& name) {
  Series raw{name + " loss", {}, {}}, smooth{name + " (EMA 0.9)", {}, {}}, val{name + " validation loss", {}, {}};
  std::ifstream in(file);
  std::string line;
  double ema = 0;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || !(j.contains("loss") || j.contains("val_loss")))
      raise(file.string(), ":", n, ": expected a JSON line with step and loss (or val_loss)");
    const double step = j["step"].get<double>();
    if (!j.contains("loss")) {
      val.x.push_back(step), val.y.push_back(j["val_loss"].get<double>());
      continue;
    }
    const double loss = j["loss"].get<double>();
    ema = raw.x.empty() ? loss : 0.9 * ema + 0.1 * loss;
    raw.x.push_back(step), raw.y.push_back(loss), smooth.x.push_back(step), smooth.y.push_back(ema);
  }
  if (val.x.empty()) return {raw, smooth};
  return {raw, smooth, val};
}

struct AttentionFigure {
  std::vector<std::string> aspects;
  std::vector<std::vector<double>> prompt_by_aspect;  // [soft prompt token][aspect]: attention mass
  double aspect_mass = 0, visual_mass = 0;            // mean per soft-prompt row
  int64_t images = 0;
};

// MASP Figure 4: last-layer attention from every soft-prompt position to each aspect's tokens, averaged
// over heads and images.
AttentionFigure soft_prompt_attention(const std::string& checkpoint, const std::string& config_file, int64_t max_images) {
  auto c = load_config({config_file}, {"data.max_samples=" + std::to_string(max_images)});
  auto vlm = open_bundle(c);
  if (!vlm->has_last_attention()) raise(c.bundle, ": the bundle has no last_attention method (optional; docs/bundle.md)");
  auto images = open_split(*vlm, c, c.data.eval_split, "data.eval_split");
  auto model = make_emotion_model(*vlm, c, checkpoint, parts_in_checkpoint(checkpoint));
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids(static_cast<size_t>(images->size()));
  std::iota(ids.begin(), ids.end(), 0);
  auto visual = images->visual(ids);
  auto aspect_tokens = model.aspect_tokens(visual);
  std::vector<SequenceSpec> specs;
  for (int64_t i = 0; i < visual.size(0); ++i) specs.push_back(model.spec(visual[i], aspect_tokens[i], nullptr));
  auto batch = model.builder->assemble(specs);
  auto att = vlm->last_attention(batch.embeds, batch.attention_mask, batch.model_positions()).to(torch::kFloat32).mean(1);  // [B,S,S]
  const int64_t q = c.masp.queries_per_aspect, a_count = static_cast<int64_t>(c.masp.aspects.size());
  AttentionFigure f;
  f.aspects = c.masp.aspects;
  f.images = visual.size(0);
  f.prompt_by_aspect.assign(static_cast<size_t>(model.soft_prompt.size(0)), std::vector<double>(static_cast<size_t>(a_count), 0.0));
  std::vector<int64_t> rows_seen(f.prompt_by_aspect.size(), 0);  // per soft-prompt token, over images and copies
  auto seg = batch.segments.to(torch::kInt64);
  for (int64_t b = 0; b < batch.size(); ++b) {
    auto prompt_rows = torch::nonzero(seg[b] == static_cast<int64_t>(Segment::SoftPrompt)).flatten();
    auto aspect_cols = torch::nonzero(seg[b] == static_cast<int64_t>(Segment::Aspect)).flatten();
    auto visual_cols = torch::nonzero(seg[b] == static_cast<int64_t>(Segment::Visual)).flatten();
    auto rows = att[b].index_select(0, prompt_rows);  // [Lp (or 2 Lp with the reference placement), S]
    auto to_aspects = rows.index_select(1, aspect_cols).view({rows.size(0), a_count, q}).sum(2);  // [rows, A]
    for (int64_t r = 0; r < rows.size(0); ++r) {
      auto token = static_cast<size_t>(r % model.soft_prompt.size(0));
      rows_seen[token]++;
      for (int64_t a = 0; a < a_count; ++a) f.prompt_by_aspect[token][static_cast<size_t>(a)] += to_aspects[r][a].item<double>();
    }
    f.aspect_mass += to_aspects.sum(1).mean().item<double>();
    f.visual_mass += rows.index_select(1, visual_cols).sum(1).mean().item<double>();
  }
  for (size_t t = 0; t < f.prompt_by_aspect.size(); ++t)
    for (auto& v : f.prompt_by_aspect[t]) v /= static_cast<double>(std::max<int64_t>(1, rows_seen[t]));
  f.aspect_mass /= static_cast<double>(batch.size());
  f.visual_mass /= static_cast<double>(batch.size());
  return f;
}

// The report being written: its Markdown, and its figures, saved as PNGs in `out`.
struct Report {
  fs::path out;
  ReportResult result;
  std::string md;

  // Saves a figure and returns the Markdown that shows it.
  std::string figure(const std::string& name, const cv::Mat& img, const std::string& caption) {
    write_png((out / name).string(), img);
    result.figures.push_back((out / name).string());
    return "![" + caption + "](" + name + ")\n\n";
  }
};

// Every ablation.md and table.md, as they are.
void add_tables(Report& r, const fs::path& root) {
  for (const char* table : {"ablation.md", "table.md"})
    for (const auto& f : find_files(root, table, r.out)) r.md += "## " + f.lexically_relative(root).generic_string() + "\n\n" + read_file(f.string()) + "\n";
}

// A loss chart per metrics.jsonl.
void add_training_curves(Report& r, const fs::path& root) {
  auto curves = find_files(root, RunDir::kMetricsFile, r.out);
  if (!curves.empty()) r.md += "## Training curves\n\n";
  for (const auto& f : curves) {
    auto name = slug(f.parent_path(), root);
    r.md += r.figure("curve-" + name + ".png", draw_line_chart("Training loss: " + name, "optimizer step", "loss", loss_curves(f, name)),
                     "training loss of " + name);
  }
}

// One row of the evaluations table. `j` stays non-const: a missing key then reads as null and fails in get().
std::string evaluation_row(const std::string& name, nlohmann::json& j) {
  bool wheel = j.contains("emotion_wheel");
  return "| " + name + " | " + fixed(100 * j["accuracy"].get<double>()) + " | " + fixed(100 * j.value("macro_f1", 0.0)) + " | " +
         (wheel ? fixed(j["emotion_wheel"]["ecc"].get<double>(), 3) : "-") + " | " +
         (wheel ? fixed(j["emotion_wheel"]["emc"].get<double>(), 3) : "-") + " | " + std::to_string(j["total"].get<int64_t>()) + " |\n";
}

// The confusion heatmap and the per-class accuracy bars of one evaluation; returns their Markdown.
std::string evaluation_figures(Report& r, const std::string& name, nlohmann::json& j, const std::vector<std::string>& labels,
                               const std::vector<std::vector<int64_t>>& confusion) {
  std::vector<std::vector<double>> share(labels.size());
  std::vector<std::vector<std::string>> counts(labels.size());
  std::vector<double> recall;
  auto columns = labels;
  columns.push_back("(no label)");
  for (size_t g = 0; g < labels.size(); ++g) {
    double total = 0;
    for (auto v : confusion[g]) total += static_cast<double>(v);
    for (auto v : confusion[g]) share[g].push_back(total > 0 ? static_cast<double>(v) / total : 0), counts[g].push_back(std::to_string(v));
    recall.push_back(j["per_class"][labels[g]]["accuracy"].get<double>());
  }
  std::string md = r.figure("confusion-" + name + ".png",
                            draw_heatmap("Confusion (row-normalised colour, counts): " + name, "gold label", "predicted label", labels,
                                         columns, share, counts),
                            "confusion matrix of " + name);
  md += r.figure("per-class-" + name + ".png", draw_bar_chart("Per-class accuracy (recall): " + name, "accuracy", labels, recall, 1.0),
                 "per-class accuracy of " + name);
  return md;
}

// The evaluations table (every metrics.json with a confusion matrix), then all their figures below it.
void add_evaluations(Report& r, const fs::path& root) {
  auto evaluations = find_files(root, "metrics.json", r.out);
  if (!evaluations.empty())
    r.md += "## Evaluations\n\nECC (emotion closeness credit): accuracy with partial credit by distance on Mikels' wheel (1 exact, "
            "0.75 a neighbour, 0 the opposite emotion); EMC (emotion mistake cost): the mean wheel distance of the mistakes "
            "only (0.25: neighbours only, 1: opposites only); both only for Mikels' eight emotions (docs/metrics.md). In the "
            "confusion matrices, the column `(no label)` counts answers that matched none of the labels (generate mode).\n\n"
            "| evaluation | accuracy (%) | macro-F1 (%) | ECC | EMC | images |\n|---|---|---|---|---|---|\n";
  std::string eval_figures;
  for (const auto& f : evaluations) {
    auto j = nlohmann::json::parse(read_file(f.string()), nullptr, false);
    if (j.is_discarded() || !j.contains("confusion") || !j.contains("labels")) continue;  // aspect evaluations
    auto name = slug(f.parent_path(), root);
    auto labels = j["labels"].get<std::vector<std::string>>();
    auto confusion = j["confusion"].get<std::vector<std::vector<int64_t>>>();
    r.md += evaluation_row(name, j);
    eval_figures += evaluation_figures(r, name, j, labels, confusion);
  }
  r.md += "\n" + eval_figures;
}

// MASP Figure 4 for every stage-2 checkpoint with aspect modules; its saved config is written beside the figure.
void add_soft_prompt_attention(Report& r, const fs::path& root, int64_t attention_images) {
  for (const auto& f : find_files(root, RunDir::kCheckpointFile, r.out)) {
    auto summary = summarize_checkpoint(f.string());
    if (summary.info.stage != "prompt" || summary.info.config_yaml.empty()) continue;
    auto name = slug(f.parent_path(), root);
    auto config_file = (r.out / ("config-" + name + ".yaml")).string();
    write_file_atomic(config_file, summary.info.config_yaml);
    auto c = load_config({config_file}, {});
    if (!c.masp.use_aspects) continue;
    auto fig = soft_prompt_attention(f.string(), config_file, attention_images);
    std::vector<std::string> rows;
    std::vector<std::vector<std::string>> notes;
    for (size_t row = 0; row < fig.prompt_by_aspect.size(); ++row) {
      rows.push_back("prompt " + std::to_string(row));
      notes.emplace_back();
      for (double v : fig.prompt_by_aspect[row]) notes.back().push_back(fixed(v, 3));
    }
    r.md += "## Soft prompt -> aspect attention (MASP Figure 4): " + name + "\n\nLast layer, mean over heads and " + std::to_string(fig.images) +
            " images of split '" + c.data.eval_split + "'. Mean attention mass of a soft-prompt token: " + fixed(fig.aspect_mass, 3) +
            " on all aspect tokens, " + fixed(fig.visual_mass, 3) + " on all visual tokens.\n\n";
    r.md += r.figure("attention-" + name + ".png",
                     draw_heatmap("Soft prompt -> aspect attention (last layer): " + name, "soft prompt token", "aspect", rows, fig.aspects,
                                  fig.prompt_by_aspect, notes),
                     "soft prompt to aspect attention of " + name);
  }
}
// SEPM's drop over the first images of every evaluation run with eval.inference: sepm (its predictions.jsonl holds
// the traces), with the traces' summary from metrics.json.
void add_sepm_drops(Report& r, const fs::path& root, int64_t max_images = 4) {
  for (const auto& f : find_files(root, "predictions.jsonl", r.out)) {
    std::vector<TokenDropPanel> panels;
    std::istringstream lines(read_file(f.string()));
    std::string line;
    int64_t without_grid = 0;
    while (static_cast<int64_t>(panels.size()) < max_images && std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("sepm") || !j["sepm"].contains("visual_scores")) break;
      const auto& t = j["sepm"];
      if (t["visual_grid"].empty()) {
        ++without_grid;
        continue;
      }
      panels.push_back({j["image"].get<std::string>(), "gold " + j["gold"].get<std::string>() + ", SEPM " + j["predicted"].get<std::string>(),
                        t["visual_grid"].get<std::vector<int64_t>>(), t["visual_scores"].get<std::vector<double>>(),
                        t["dropped_visual"].get<std::vector<int64_t>>()});
    }
    if (panels.empty() && without_grid == 0) continue;
    auto name = slug(f.parent_path(), root);
    auto metrics = nlohmann::json::parse(read_file((f.parent_path() / "metrics.json").string()), nullptr, false);
    r.md += "## SEPM token drop: " + name + "\n\n";
    if (!metrics.is_discarded() && metrics.contains("sepm")) r.md += "Traces summed: `" + metrics["sepm"].dump() + "`.\n\n";
    if (panels.empty()) {
      r.md += "Its visual tokens lie on no image grid (e.g. LLaVA-NeXT's tiles): no drawing.\n\n";
      continue;
    }
    r.md += r.figure("sepm-drop-" + name + ".png",
                     draw_token_drop("SEPM: FoE attention per visual token (blue least, red most), dropped crossed: " + name, panels),
                     "SEPM token drop of " + name);
  }
}
}  // namespace

ReportResult write_run_report(const ReportOptions& o) {
  const fs::path root(o.run_dir);
  if (!fs::is_directory(root)) raise("report: run directory '", o.run_dir, "' does not exist");
  Report r{o.out_dir.empty() ? root / "report" : fs::path(o.out_dir), {}, {}};
  ensure_directory(r.out.string());
  r.md = "# Report of " + fs::absolute(root).lexically_normal().string() + "\n\n";
  add_tables(r, root);
  add_training_curves(r, root);
  add_evaluations(r, root);
  add_soft_prompt_attention(r, root, o.attention_images);
  add_sepm_drops(r, root);
  r.result.summary_path = (r.out / "summary.md").string();
  write_file_atomic(r.result.summary_path, r.md);
  return r.result;
}

}  // namespace emotune
