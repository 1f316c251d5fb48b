#!/usr/bin/env python3
"""The stage-2 benchmark's comparison (scripts/gpu/verify.sh, step bench7b): emotune's C++ trainer against the
eager reference loop on the same samples in the same order.

    scripts/gpu/compare_stage2.py RESULTS_DIR [--peak-tflops 800] [--loss-tol 0.05]

RESULTS_DIR holds emotune.json and emotune_losses.json (build/emotune_stage2_bench) and reference.json
(bench/stage2_eager_reference.py). Prints samples/s, peak memory and model FLOP utilisation of each, the
ratio, and the losses of the steps both took at batch 1; writes RESULTS_DIR/summary.md. MFU counts the same
model FLOPs per sample for both (the reference's count: forward and input-gradient backward over the whole
sequence, the vision tower's forward), so an implementation that skips work scores higher for it, as MFU
means. Exits 1 when the losses differ by more than --loss-tol (mean relative difference over the steps: the
two run the frozen model in bf16 and fp32 under bf16 autocast respectively, so they agree to bf16's
precision, not bit for bit). Standard library only.
"""
import argparse
import json
import os
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results")
    p.add_argument("--peak-tflops", type=float, default=800.0, help="the device's dense bf16 peak (H100 SXM: ~989; 800 as the issue states)")
    p.add_argument("--loss-tol", type=float, default=0.05)
    a = p.parse_args()
    load = lambda name: json.load(open(os.path.join(a.results, name)))
    emotune, reference = load("emotune.json"), load("reference.json")
    ours, theirs = load("emotune_losses.json")["losses"], reference["losses"]
    steps = min(len(ours), len(theirs))
    rel = [abs(ours[i] - theirs[i]) / max(abs(theirs[i]), 1e-12) for i in range(steps)]
    flops = reference["model_flops_per_sample"]
    rows = []
    for name, r in (("eager reference (batch 1, fp32 + bf16 autocast)", reference),
                    (f"emotune (batch {emotune['batch']}, bf16, prefix cache)", emotune)):
        mfu = flops * r["samples_per_s"] / (a.peak_tflops * 1e12)
        rows.append(f"| {name} | {r['samples_per_s']:.2f} | {r['peak_memory_bytes'] / 2**30:.1f} | {100 * mfu:.1f} % |")
    ratio = emotune["samples_per_s"] / reference["samples_per_s"]
    lines = ["| loop | samples/s | peak memory (GiB) | MFU |", "|---|---:|---:|---:|", *rows, "",
             f"emotune / reference: {ratio:.2f}x samples/s ({'meets' if ratio >= 4 else 'below'} the 4x target); "
             f"model FLOPs per sample {flops / 1e9:.3g} GFLOP, peak {a.peak_tflops:.0f} TFLOP/s",
             f"losses over {steps} steps at batch 1: first {theirs[0]:.4f} vs {ours[0]:.4f}, last {theirs[steps - 1]:.4f} vs "
             f"{ours[steps - 1]:.4f}; mean relative difference {sum(rel) / steps:.2e}, largest {max(rel):.2e} "
             f"(tolerance {a.loss_tol:.0e} on the mean)"]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(a.results, "summary.md"), "w") as f:
        f.write(text + "\n")
    if sum(rel) / steps > a.loss_tol:
        print("the two loops' losses differ beyond the tolerance", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
