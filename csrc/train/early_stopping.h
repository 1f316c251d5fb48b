// Early stopping on a held-out loss, for the small fits (train/small_fit.h): remembers the best loss
// seen and reports when `patience` checks in a row brought no improvement.
#pragma once
#include <cstdint>

namespace emotune {

class EarlyStopping {
 public:
  EarlyStopping(double initial_loss, int64_t patience) : best_(initial_loss), patience_(patience) {}
  // True when `loss` is a new best (the caller keeps the parameters that gave it).
  bool improved(double loss) {
    if (loss < best_) {
      best_ = loss;
      checks_without_gain_ = 0;
      return true;
    }
    ++checks_without_gain_;
    return false;
  }
  bool exhausted() const { return checks_without_gain_ >= patience_; }

 private:
  double best_;
  int64_t patience_;
  int64_t checks_without_gain_ = 0;
};

}  // namespace emotune
