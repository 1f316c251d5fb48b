#include "eval/evaluate.h"

#include <torch/torch.h>

#include <filesystem>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "dist/communicator.h"
#include "eval/decode.h"
#include "vlm/frozen_vlm.h"

namespace emotune {

EvalOptions eval_options(const EmotuneConfig& c) {
  EvalOptions o{c.eval.mode, c.eval.batch_size, c.eval.max_new_tokens, true};
  o.inference = c.eval.inference;
  o.sepm = sepm_options(c);
  return o;
}

namespace {

Communicator& group_of(const EvalOptions& o) { return o.group ? *o.group : world(); }

// Ranks that evaluate different samples (an image one machine skipped, another split) would deal other batches:
// the sample lists must agree before any rank scores.
template <typename Sample>
void require_same_samples(Communicator& group, const ImageFeatures& images, const std::vector<Sample>& samples) {
  if (group.size() == 1) return;
  std::string ids;
  for (const auto& s : samples) ids += images.rows()[static_cast<size_t>(s.image)].image + "\n";
  require_same_on_every_rank(group, {{"samples to evaluate", concat(samples.size(), " samples, sha256 ", sha256_hex(ids))}});
}

nlohmann::json to_json(const EmotionPrediction& p) {
  return {{"image", p.image}, {"gold", p.gold}, {"predicted", p.predicted}, {"text", p.text}, {"scores", p.scores}, {"sepm", p.sepm}};
}

EmotionPrediction prediction_from(const nlohmann::json& j) {
  EmotionPrediction p;
  p.image = j.at("image"), p.gold = j.at("gold"), p.predicted = j.at("predicted");
  p.text = j.at("text");
  p.scores = j.at("scores").get<std::vector<float>>();
  p.sepm = j.at("sepm");
  return p;
}

// Every rank's predictions of its batches (round-robin: batch b on rank b mod size), back in batch order. CBOR keeps
// each float's bits.
std::vector<EmotionPrediction> gather_predictions(Communicator& group, const std::vector<std::vector<EmotionPrediction>>& mine,
                                                  size_t batches) {
  nlohmann::json local = nlohmann::json::array();
  for (const auto& batch : mine) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& p : batch) rows.push_back(to_json(p));
    local.push_back(std::move(rows));
  }
  const auto cbor = nlohmann::json::to_cbor(local);
  auto all = all_gather_bytes(group, std::string(cbor.begin(), cbor.end()), "gathering the evaluation's predictions");
  std::vector<nlohmann::json> per_rank;
  for (const auto& bytes : all) per_rank.push_back(nlohmann::json::from_cbor(bytes));
  std::vector<EmotionPrediction> out;
  const size_t ranks = all.size();
  for (size_t b = 0; b < batches; ++b)
    for (const auto& row : per_rank[b % ranks].at(b / ranks)) out.push_back(prediction_from(row));
  return out;
}

// What SEPM's traces add up to: how often the coarse stage was confident and right about the polarity, how many
// fine answers named no kept option, how many tokens the drop removed.
nlohmann::json sepm_summary(const std::vector<EmotionPrediction>& predictions, const std::vector<std::string>& labels) {
  int64_t confident = 0, invalid = 0, polar = 0, polarity_right = 0, dropped = 0, kept_gold = 0;
  for (const auto& p : predictions) {
    const auto& t = p.sepm;
    confident += t.at("confident").get<bool>();
    invalid += !t.at("valid").get<bool>();
    dropped += static_cast<int64_t>(t.at("dropped_visual").size() + t.value("dropped_aspects", nlohmann::json::array()).size());
    const auto& gold = labels.at(static_cast<size_t>(p.gold));
    const auto& options = t.at("options");
    kept_gold += std::find(options.begin(), options.end(), gold) != options.end();
    const Polarity g = polarity_of(gold);
    if (g == Polarity::Neutral) continue;
    ++polar;
    polarity_right += t.at("polarity").get<std::string>() == polarity_name(g);
  }
  const auto n = static_cast<double>(predictions.size());
  return {{"images", predictions.size()}, {"confident", confident}, {"confident_share", confident / n},
          {"coarse_polarity_accuracy", polar ? static_cast<double>(polarity_right) / static_cast<double>(polar) : 0.0},
          {"gold_among_fine_options", static_cast<double>(kept_gold) / n}, {"invalid_answers", invalid},
          {"mean_tokens_dropped", static_cast<double>(dropped) / n}};
}

}  // namespace

EmotionEvaluation evaluate_emotions(EmotionModel& model, ImageFeatures& images, const std::vector<EmotionSample>& samples,
                                    const EvalOptions& o, const std::vector<torch::Tensor>& sample_prompts) {
  torch::NoGradGuard no_grad;
  if (!sample_prompts.empty() && sample_prompts.size() != samples.size())
    raise("internal: ", sample_prompts.size(), " sample prompts for ", samples.size(), " samples");
  EmotionEvaluation out;
  std::vector<std::string> normalised;
  for (const auto& l : model.labels) normalised.push_back(normalise_answer(l));
  // Ranking scores |labels| sequences per image, so fewer images go into one forward batch.
  std::optional<SepmPredictor> sepm;
  if (o.inference == Inference::Sepm) sepm.emplace(model, o.sepm);
  const int64_t images_per_batch = o.mode == EvalMode::Rank && !sepm ? std::max<int64_t>(1, o.batch_size / static_cast<int64_t>(model.labels.size())) : o.batch_size;
  ProgressBar bar("eval", static_cast<int64_t>(samples.size()));
  Communicator& group = group_of(o);
  require_same_samples(group, images, samples);
  std::vector<std::vector<EmotionPrediction>> mine;  // this rank's batches, in order
  size_t batches = 0;
  for (size_t lo = 0; lo < samples.size(); lo += static_cast<size_t>(images_per_batch), ++batches) {
    size_t hi = std::min(samples.size(), lo + static_cast<size_t>(images_per_batch));
    if (static_cast<int>(batches % static_cast<size_t>(group.size())) != group.rank()) continue;
    std::vector<int64_t> ids;
    for (size_t i = lo; i < hi; ++i) ids.push_back(samples[i].image);
    auto visual = images.visual(ids);
    auto aspects = model.aspect_tokens(visual);
    std::vector<SequenceSpec> prompts;
    for (size_t i = 0; i < ids.size(); ++i)
      prompts.push_back(model.spec(visual[static_cast<int64_t>(i)], aspects.defined() ? aspects[static_cast<int64_t>(i)] : torch::Tensor(), nullptr,
                                   sample_prompts.empty() ? torch::Tensor() : sample_prompts[lo + i]));
    std::vector<EmotionPrediction> batch(ids.size());
    if (sepm) {
      std::vector<torch::Tensor> prompts;
      if (!sample_prompts.empty()) prompts.assign(sample_prompts.begin() + static_cast<std::ptrdiff_t>(lo), sample_prompts.begin() + static_cast<std::ptrdiff_t>(hi));
      auto traces = sepm->predict(visual, aspects, prompts);
      for (size_t i = 0; i < ids.size(); ++i) {
        batch[i].predicted = traces[i].label;
        batch[i].text = traces[i].answer;
        batch[i].scores = traces[i].letter_log_probs;
        batch[i].sepm = traces[i].to_json(model.labels);
      }
    } else if (o.mode == EvalMode::Rank) {
      auto scores = score_candidates(*model.vlm, *model.builder, prompts, model.labels, o.batch_size);
      auto best = scores.argmax(1);
      for (size_t i = 0; i < ids.size(); ++i) {
        batch[i].predicted = best[static_cast<int64_t>(i)].item<int64_t>();
        batch[i].text = model.labels[static_cast<size_t>(batch[i].predicted)];
        auto row = scores[static_cast<int64_t>(i)].contiguous();
        batch[i].scores.assign(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      }
    } else {
      auto texts = generate_greedy(*model.vlm, *model.builder, prompts, o.max_new_tokens);
      for (size_t i = 0; i < ids.size(); ++i) {
        batch[i].text = texts[i];
        auto it = std::find(normalised.begin(), normalised.end(), normalise_answer(texts[i]));
        batch[i].predicted = it == normalised.end() ? -1 : static_cast<int64_t>(it - normalised.begin());
      }
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      batch[i].image = samples[lo + i].image;
      batch[i].gold = samples[lo + i].label;
    }
    mine.push_back(std::move(batch));
    if (o.show_progress) bar.update(static_cast<int64_t>(hi), static_cast<int64_t>(hi));
  }
  if (o.show_progress) bar.finish();
  if (group.size() == 1) {
    for (auto& batch : mine)
      for (auto& p : batch) out.predictions.push_back(std::move(p));
  } else {
    out.predictions = gather_predictions(group, mine, batches);
  }
  std::vector<int64_t> gold, pred;
  for (const auto& p : out.predictions) gold.push_back(p.gold), pred.push_back(p.predicted);
  out.metrics = compute_metrics(gold, pred, static_cast<int64_t>(model.labels.size()), model.labels);
  return out;
}

std::vector<double> label_distribution(const EmotionPrediction& p) {
  if (p.scores.empty()) return {};
  auto probabilities = torch::softmax(torch::tensor(p.scores, torch::kFloat64), 0).contiguous();
  return {probabilities.data_ptr<double>(), probabilities.data_ptr<double>() + probabilities.numel()};
}

namespace {
nlohmann::json named_values(const std::vector<std::string>& names, const torch::Tensor& row) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t d = 0; d < names.size(); ++d) j[names[d]] = row[static_cast<int64_t>(d)].item<double>();
  return j;
}

// The head's errors over the predictions whose manifest rows carry every rating it predicts.
nlohmann::json dimension_summary(const EmotionEvaluation& e, const ImageFeatures& images) {
  const auto& s = e.dimensions;
  std::vector<int64_t> scored;
  std::vector<float> gold;
  for (size_t i = 0; i < e.predictions.size(); ++i) {
    const auto& row = images.rows()[static_cast<size_t>(e.predictions[i].image)];
    bool all = true;
    for (const auto& name : s.names) all = all && row.dimensions.count(name) > 0;
    if (!all) continue;
    scored.push_back(static_cast<int64_t>(i));
    for (const auto& name : s.names) gold.push_back(static_cast<float>(row.dimensions.at(name)));
  }
  nlohmann::json j = {{"names", s.names}, {"rated_images", scored.size()}};
  if (scored.empty()) return j;
  auto g = torch::tensor(gold).reshape({static_cast<int64_t>(scored.size()), static_cast<int64_t>(s.names.size())});
  j["errors"] = dimension_errors(s.values.index_select(0, torch::tensor(scored, torch::kInt64)), g, s.names, s.baseline);
  return j;
}
}  // namespace

void write_emotion_evaluation(const std::string& dir, const EmotionEvaluation& e, const EmotionModel& model,
                              const ImageFeatures& images, const nlohmann::json& context) {
  namespace fs = std::filesystem;
  if (!world().is_main()) return;
  ensure_directory(dir);
  auto metrics = e.metrics.to_json(model.labels);
  metrics["context"] = context;
  if (!e.predictions.empty() && !e.predictions.front().sepm.is_null()) metrics["sepm"] = sepm_summary(e.predictions, model.labels);
  const bool has_dimensions = !e.dimensions.names.empty();
  if (has_dimensions) metrics["dimensions"] = dimension_summary(e, images);
  write_file_atomic((fs::path(dir) / "metrics.json").string(), metrics.dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "confusion.csv").string(), e.metrics.confusion_csv(model.labels));
  std::string lines;
  for (const auto& p : e.predictions) {
    const auto& row = images.rows()[static_cast<size_t>(p.image)];
    nlohmann::json j = {{"image", row.image}, {"line", row.line}, {"gold", model.labels[static_cast<size_t>(p.gold)]},
                        {"predicted", p.predicted >= 0 ? model.labels[static_cast<size_t>(p.predicted)] : ""},
                        {"text", p.text}, {"correct", p.predicted == p.gold}};
    if (!p.scores.empty()) j["scores"] = p.scores;
    if (!p.scores.empty() && p.sepm.is_null()) j["probabilities"] = label_distribution(p);
    if (!p.sepm.is_null()) j["sepm"] = p.sepm;
    if (has_dimensions) j["dimensions"] = named_values(e.dimensions.names, e.dimensions.values[static_cast<int64_t>(&p - e.predictions.data())]);
    lines += j.dump() + "\n";
  }
  write_file_atomic((fs::path(dir) / "predictions.jsonl").string(), lines);
}

nlohmann::json AspectEvaluation::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (size_t a = 0; a < aspects.size(); ++a)
    j[aspects[a]] = {{"total", total[a]}, {"correct", correct[a]},
                     {"accuracy", total[a] ? static_cast<double>(correct[a]) / static_cast<double>(total[a]) : 0.0}};
  return j;
}

AspectEvaluation evaluate_aspects(FrozenVLM& vlm, const SequenceBuilder& builder, const AspectModulesImpl* modules,
                                  ImageFeatures& images, const std::vector<AspectSample>& samples,
                                  const std::vector<std::vector<std::string>>& questions, const EvalOptions& o,
                                  const std::vector<std::string>& aspect_names) {
  torch::NoGradGuard no_grad;
  AspectEvaluation out;
  out.aspects = aspect_names;
  out.total.assign(out.aspects.size(), 0);
  out.correct.assign(out.aspects.size(), 0);
  ProgressBar bar("eval aspects", static_cast<int64_t>(samples.size()));
  Communicator& group = group_of(o);
  require_same_samples(group, images, samples);
  size_t b = 0;
  for (size_t lo = 0; lo < samples.size(); lo += static_cast<size_t>(o.batch_size), ++b) {
    size_t hi = std::min(samples.size(), lo + static_cast<size_t>(o.batch_size));
    if (static_cast<int>(b % static_cast<size_t>(group.size())) != group.rank()) continue;  // another rank's batch
    std::vector<int64_t> ids;
    for (size_t i = lo; i < hi; ++i) ids.push_back(samples[i].image);
    auto visual = images.visual(ids);  // one fetch (or one encoding pass) per batch
    std::vector<SequenceSpec> prompts;
    for (size_t i = lo; i < hi; ++i) {
      auto v = visual.slice(0, static_cast<int64_t>(i - lo), static_cast<int64_t>(i - lo) + 1);
      const auto& question = questions[static_cast<size_t>(samples[i].aspect)].front();
      prompts.push_back(modules ? builder.aspect_question(modules->forward(samples[i].aspect, v)[0], question, nullptr)
                                : builder.image_question(torch::Tensor(), v[0], torch::Tensor(), question, nullptr));
    }
    auto texts = generate_greedy(vlm, builder, prompts, o.max_new_tokens);
    for (size_t i = lo; i < hi; ++i) {
      auto a = static_cast<size_t>(samples[i].aspect);
      out.total[a]++;
      if (aspect_answer_matches(texts[i - lo], samples[i].answer)) out.correct[a]++;
    }
    if (o.show_progress) bar.update(static_cast<int64_t>(hi), static_cast<int64_t>(hi));
  }
  if (o.show_progress) bar.finish();
  if (group.size() > 1) {  // the counts are sums over every rank's batches
    auto counts = torch::cat({torch::tensor(out.total, torch::kInt64), torch::tensor(out.correct, torch::kInt64)});
    group.all_reduce_sum(counts, "summing the aspect evaluation's counts");
    const auto a = static_cast<int64_t>(out.total.size());
    for (int64_t i = 0; i < a; ++i) out.total[static_cast<size_t>(i)] = counts[i].item<int64_t>(), out.correct[static_cast<size_t>(i)] = counts[a + i].item<int64_t>();
  }
  return out;
}

}  // namespace emotune
