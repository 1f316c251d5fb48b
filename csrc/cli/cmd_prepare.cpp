#include <cstdio>

#include "cli/commands.h"
#include "prepare/convert_iemocap.h"
#include "prepare/prepare_dataset.h"

namespace emotune {

namespace {
struct PrepareArgs {
  ConfigArgs config;
  std::string dataset, root, out;
};

// Utterances per split and label of both label sets, and what each dropped.
void print_iemocap(const IemocapPrepared& r, const std::string& out) {
  std::printf("iemocap: %lld utterances in %lld dialogues\n", static_cast<long long>(r.utterances), static_cast<long long>(r.dialogues));
  for (const auto& [way, counts] : r.counts) {
    std::printf("  %s:", way.c_str());
    for (const auto& [split_label, n] : counts) std::printf(" %s %lld", split_label.c_str(), static_cast<long long>(n));
    std::printf("\n");
    if (r.dropped.count(way))
      for (const auto& [why, n] : r.dropped.at(way)) std::printf("    dropped: %lld (%s)\n", static_cast<long long>(n), why.c_str());
  }
  std::printf("written to %s (utterances-4/6.jsonl: add a vanilla model's probabilities, then emotune refine -c %s/dataset-4.yaml)\n",
              out.c_str(), out.c_str());
}
}  // namespace

void register_prepare_command(CLI::App& app) {
  auto a = std::make_shared<PrepareArgs>();
  std::string names;
  for (const auto& n : preparable_datasets()) names += (names.empty() ? "" : ", ") + n;
  names += ", iemocap (dialogues for emotune refine: docs/lantern.md)";
  auto* cmd = app.add_subcommand("prepare", "convert a benchmark from its original layout into a manifest with persisted splits (docs/datasets.md)");
  cmd->add_option("dataset", a->dataset, "one of: " + names)->required();
  cmd->add_option("root", a->root, "the dataset's directory, as distributed")->required();
  cmd->add_option("--out", a->out, "output directory (manifest.jsonl, splits.json, dataset.yaml, prepare.json)")->required();
  add_config_options(cmd, a->config);
  cmd->callback([a] {
    if (a->dataset == "iemocap") return print_iemocap(prepare_iemocap(a->root, a->out), a->out);
    auto c = a->config.load();
    auto d = prepare_dataset(prepare_options(a->dataset, a->root, a->out, c.prepare));
    std::map<std::string, int64_t> per_split;
    for (const auto& r : d.rows) per_split[r.split]++;
    std::printf("%s: %zu rows, %zu labels (%s splits)\n", d.name.c_str(), d.rows.size(), d.labels.size(), d.split_strategy.c_str());
    for (const auto& [s, n] : per_split) std::printf("  %-8s %lld\n", s.c_str(), static_cast<long long>(n));
    for (const auto& [why, n] : d.dropped) std::printf("  dropped: %lld (%s)\n", static_cast<long long>(n), why.c_str());
    for (const auto& [what, n] : d.notes) std::printf("  note: %lld %s\n", static_cast<long long>(n), what.c_str());
    std::printf("written to %s (use -c %s/dataset.yaml)\n", a->out.c_str(), a->out.c_str());
  });
}

}  // namespace emotune
