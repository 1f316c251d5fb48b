#include "train/optimizer.h"

#include "core/error.h"

namespace emotune {
namespace {
std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

std::vector<torch::Tensor> values(const NamedTensors& params) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : params) out.push_back(t);
  return out;
}
}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, const NamedTensors& params) {
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        values(params), torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay));
  return std::make_unique<torch::optim::AdamW>(
      values(params),
      torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
}

double learning_rate_at(const TrainConfig& c, int64_t step, int64_t total) {
  int64_t warmup = static_cast<int64_t>(std::ceil(c.warmup_ratio * static_cast<double>(total)));
  if (step < warmup) return c.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (c.schedule == "constant") return c.lr;
  double remaining = static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  return c.lr * std::max(0.0, remaining);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

NamedTensors export_optimizer_state(const torch::optim::Optimizer& optimizer, const NamedTensors& params) {
  NamedTensors out;
  const auto& state = optimizer.state();
  for (const auto& [name, p] : params) {
    auto it = state.find(state_key(p));
    if (it == state.end()) continue;  // never stepped (e.g. an aspect no sample has reached yet)
    const std::string prefix = "optim." + name + ".";
    if (auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get())) {
      out[prefix + "exp_avg"] = s->exp_avg();
      out[prefix + "exp_avg_sq"] = s->exp_avg_sq();
      out[prefix + "step"] = torch::tensor({s->step()}, torch::kInt64);
    } else if (auto* g = dynamic_cast<const torch::optim::SGDParamState*>(it->second.get())) {
      if (g->momentum_buffer().defined()) out[prefix + "momentum_buffer"] = g->momentum_buffer();
    }
  }
  return out;
}

void import_optimizer_state(torch::optim::Optimizer& optimizer, const NamedTensors& params, const NamedTensors& state,
                            const std::string& source) {
  bool adamw = dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr;
  auto& map = optimizer.state();
  map.clear();
  for (const auto& [name, p] : params) {
    const std::string prefix = "optim." + name + ".";
    auto find = [&](const char* what) -> const torch::Tensor* {
      auto it = state.find(prefix + what);
      return it == state.end() ? nullptr : &it->second;
    };
    if (adamw) {
      auto *avg = find("exp_avg"), *sq = find("exp_avg_sq"), *step = find("step");
      if (!avg && !sq && !step) continue;
      if (!avg || !sq || !step) raise(source, ": incomplete AdamW state for '", name, "'");
      if (avg->sizes() != p.sizes() || sq->sizes() != p.sizes())
        raise(source, ": AdamW state for '", name, "' has shape ", avg->sizes(), ", parameter has ", p.sizes());
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(step->item<int64_t>());
      s->exp_avg(avg->to(p.device(), p.scalar_type()).clone());
      s->exp_avg_sq(sq->to(p.device(), p.scalar_type()).clone());
      map[state_key(p)] = std::move(s);
    } else if (auto* buf = find("momentum_buffer")) {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(buf->to(p.device(), p.scalar_type()).clone());
      map[state_key(p)] = std::move(s);
    }
  }
}

}  // namespace emotune
