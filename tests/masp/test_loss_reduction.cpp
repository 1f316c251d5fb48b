// train.loss_reduction (issue 34, finding 1): the answer cross-entropy of a batch as the mean over all its answer
// tokens (token_mean, Hugging Face's causal-LM loss) or the mean of each sample's token mean (sample_mean), and
// gradient accumulation that gives one big batch's gradient under either.
#include <torch/torch.h>

#include <set>

#include "masp/answer_scoring.h"
#include "masp/stages.h"
#include "masp/tasks.h"
#include "test_support.h"
#include "train/trainer.h"
#include "vlm/frozen_vlm.h"

namespace emotune {
namespace {

TEST(LossReduction, TokenAndSampleMeansByHandAtBatchThree) {
  AnswerScores s{torch::tensor({-3.0f, -2.0f, -6.0f}), torch::tensor({3, 1, 2}, torch::kInt64)};
  auto token = s.loss_sum(LossReduction::TokenMean);
  EXPECT_FLOAT_EQ(token.sum.item<float>(), 11.0f);
  EXPECT_EQ(token.count, 6.0);  // (3 + 2 + 6) / (3 + 1 + 2)
  auto sample = s.loss_sum(LossReduction::SampleMean);
  EXPECT_FLOAT_EQ(sample.sum.item<float>(), 6.0f);  // 3/3 + 2/1 + 6/2
  EXPECT_EQ(sample.count, 3.0);
}

class LossReductionOnStageOne : public ::testing::Test {
 protected:
  void SetUp() override {
    c = testing::small_config(testing::small_world(24), testing::scratch_dir("run"));
    vlm = open_bundle(c);
    images = open_split(*vlm, c, "train");
    modules = load_aspect_modules(c, vlm->spec().hidden_size, "");
    modules->set_requires_grad(true);
    builder = std::make_unique<SequenceBuilder>(*vlm, layout_options(c));
    samples = make_aspect_samples(*images, c.masp.aspects, false);
  }
  // Four samples whose answers have different numbers of tokens (where the two conventions part).
  std::vector<int64_t> uneven_four(AspectTask& task) {
    std::vector<int64_t> chosen;
    std::set<int64_t> lengths;
    for (int64_t i = 0; i < task.num_samples() && chosen.size() < 4; ++i) {
      auto tokens = task.batch({i}, 0).loss_mask.sum().item<int64_t>();
      if (chosen.size() < 2 && lengths.count(tokens)) continue;
      lengths.insert(tokens);
      chosen.push_back(i);
    }
    return chosen;
  }
  torch::Tensor gradient(AspectTask& task, const std::vector<int64_t>& which, int64_t batch, double* loss) {
    *loss = accumulate_gradients(task, which, batch, 0);
    torch::Tensor g;
    std::vector<torch::Tensor> parts;
    for (auto& [name, p] : task.trainable())
      if (p.grad().defined()) parts.push_back(p.grad().flatten().clone()), p.mutable_grad() = torch::Tensor();
    return torch::cat(parts);
  }
  EmotuneConfig c;
  std::unique_ptr<FrozenVLM> vlm;
  std::unique_ptr<ImageFeatures> images;
  AspectModules modules{nullptr};
  std::unique_ptr<SequenceBuilder> builder;
  std::vector<AspectSample> samples;
};

TEST_F(LossReductionOnStageOne, AccumulatingTwoBatchesOfTwoEqualsOneBatchOfFourEitherWay) {
  for (auto reduction : {LossReduction::TokenMean, LossReduction::SampleMean}) {
    SCOPED_TRACE(name_of(reduction));
    AspectTask task(*vlm, *builder, modules, *images, samples, aspect_question_lists(c.masp), 1, reduction);
    auto four = uneven_four(task);
    ASSERT_EQ(four.size(), 4u);
    double loss_big = 0, loss_acc = 0;
    auto big = gradient(task, four, 4, &loss_big);
    auto accumulated = gradient(task, four, 2, &loss_acc);
    EXPECT_NEAR(loss_acc, loss_big, 1e-5);
    EXPECT_TRUE(torch::allclose(accumulated, big, 1e-4, 1e-6)) << (accumulated - big).abs().max();
  }
}

TEST_F(LossReductionOnStageOne, TokenMeanIsTheMeanOverEveryAnswerTokenOfTheBatch) {
  AspectTask token_task(*vlm, *builder, modules, *images, samples, aspect_question_lists(c.masp), 1, LossReduction::TokenMean);
  AspectTask sample_task(*vlm, *builder, modules, *images, samples, aspect_question_lists(c.masp), 1, LossReduction::SampleMean);
  auto four = uneven_four(token_task);
  torch::NoGradGuard no_grad;
  auto scores = score_answers(*vlm, token_task.batch(four, 0));
  const double by_token = (-scores.log_likelihood.sum() / scores.tokens.sum().to(torch::kFloat32)).item<double>();
  const double by_sample = (-scores.log_likelihood / scores.tokens.to(torch::kFloat32)).mean().item<double>();
  EXPECT_NEAR(token_task.loss(four, 0).item<double>(), by_token, 1e-5);
  EXPECT_NEAR(sample_task.loss(four, 0).item<double>(), by_sample, 1e-5);
  EXPECT_GT(std::abs(by_token - by_sample), 1e-4) << "answers of different lengths: the conventions differ";
}

}  // namespace
}  // namespace emotune
