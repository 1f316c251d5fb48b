// `emotune sweep`: stage-2 runs that differ in one setting, each in run_dir/sweep/<setting>/ (so an
// interrupted sweep resumes), evaluated together as one table on eval.datasets (or the config's own eval
// split). Two sweeps of the MASP paper come from one config: sweep.key/sweep.values (e.g. the soft-prompt
// length 8/16/32/64/128 of Table 3) and sweep.single_aspect (one aspect module at a time, Figure 3).
// Stage 1 is trained first into run_dir/aspects when masp.use_aspects is on and no masp.aspects_checkpoint
// is given.
#pragma once
#include <string>
#include <vector>

#include "eval/eval_table.h"

namespace emotune {

EvalTable run_sweep(const std::vector<std::string>& files, const std::vector<std::string>& overrides);

}  // namespace emotune
