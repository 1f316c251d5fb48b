// Recipe: stage-2 runs that differ in one setting, evaluated together as one table (MASP Table 3, Figure 3).
//
//   emotune sweep -c configs/quickstart.yaml --set sweep.key=masp.soft_prompt_length --set 'sweep.values=[8, 32]'
//
//   train     stage 1 into run_dir/aspects when any row uses aspects and masp.aspects_checkpoint is not set;
//             one stage-2 run per row into run_dir/sweep/<row>/ (each resumes): the rows are sweep.key's
//             sweep.values, or with sweep.single_aspect one aspect module of masp.aspects at a time
//   evaluate  every row on eval.datasets (or the config's own eval split): eval/eval_table.h
//   save      run_dir/sweep/{table.md, table.csv, table-macro-f1.csv, table.json}
#pragma once
#include <string>
#include <vector>

#include "eval/eval_table.h"

namespace emotune {

class SweepRecipe {
 public:
  // `files` and `overrides` as on the command line: each dataset column of the table is loaded from them.
  SweepRecipe(std::vector<std::string> files, std::vector<std::string> overrides);
  void train();
  EvalTable evaluate() const;
  EvalTable run() {
    train();
    return evaluate();
  }

 private:
  std::vector<std::string> files_, overrides_;
  EmotuneConfig config_;
  std::vector<TableRow> rows_;
};

EvalTable run_sweep(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

}  // namespace emotune
