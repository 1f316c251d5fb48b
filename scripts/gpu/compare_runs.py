#!/usr/bin/env python3
"""Compares two runs of the same config on different devices or precisions (scripts/gpu/verify.sh): the loss of
every logged step of each stage, and the evaluation's accuracy. Exits 1, saying which, when they are further
apart than the tolerances.

    scripts/gpu/compare_runs.py REFERENCE CANDIDATE --loss-tol 1e-3 --accuracy-tol 0.005 [--loss-stat max] [--name N]

REFERENCE and CANDIDATE are directories holding aspects/ and prompt/ run directories (metrics.jsonl) and
prompt/eval-test/metrics.json. Loss tolerance: the |difference| of a step's loss relative to the reference's,
its largest over the steps (--loss-stat max: the same computation in another order) or its mean (mean: another
precision, whose rounding moves the trajectory a little at every step); accuracy tolerance: absolute (0.005 =
half a point). Standard library only.
"""
import argparse
import json
import os
import sys


def losses(run_dir):
    out = {}
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if "loss" in row and "step" in row:
                out[row["step"]] = row["loss"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("reference")
    p.add_argument("candidate")
    p.add_argument("--loss-tol", type=float, required=True)
    p.add_argument("--accuracy-tol", type=float, required=True)
    p.add_argument("--loss-stat", choices=("max", "mean"), default="max")
    p.add_argument("--name", default="candidate")
    a = p.parse_args()
    failures = []
    for stage in ("aspects", "prompt"):
        ref, got = losses(os.path.join(a.reference, stage)), losses(os.path.join(a.candidate, stage))
        if not ref or sorted(ref) != sorted(got):
            failures.append(f"{stage}: logged steps differ ({len(ref)} vs {len(got)})")
            continue
        relative = [abs(got[s] - ref[s]) / max(abs(ref[s]), 1e-12) for s in ref]
        worst, mean = max(relative), sum(relative) / len(relative)
        ok = (worst if a.loss_stat == "max" else mean) <= a.loss_tol
        print(f"{a.name} {stage}: {len(ref)} steps, loss {ref[max(ref)]:.4f} vs {got[max(got)]:.4f} at the last; "
              f"relative difference largest {worst:.2e}, mean {mean:.2e} (tolerance {a.loss_tol:.0e} on the "
              f"{a.loss_stat}) {'OK' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{stage} loss")
    accuracy = []
    for run in (a.reference, a.candidate):
        with open(os.path.join(run, "prompt", "eval-test", "metrics.json")) as f:
            accuracy.append(json.load(f)["accuracy"])
    ok = abs(accuracy[1] - accuracy[0]) <= a.accuracy_tol
    print(f"{a.name} eval: accuracy {accuracy[0]:.4f} vs {accuracy[1]:.4f} (tolerance {a.accuracy_tol}) {'OK' if ok else 'FAIL'}")
    if not ok:
        failures.append("accuracy")
    if failures:
        print(f"{a.name}: outside the tolerances: {', '.join(failures)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
