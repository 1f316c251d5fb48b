#!/usr/bin/python3
"""Converts the reference MASP release (github sange1104/MASP) to an emotune checkpoint (docs/checkpoints.md).

The release stores, per aspect, the query tensor (5 x D in the code) and the state of a one-head
torch.nn.MultiheadAttention (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias), and the soft
prompt as 32 vectors of size D. Nesting and key prefixes vary between saves (a dict per aspect, a ModuleDict
state_dict, "module." prefixes), so keys are flattened and matched by aspect name and suffix.
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from emotune_vlm.safetensors_io import write_safetensors  # noqa: E402

ASPECTS = ["facial_expression", "object", "scene", "human_action", "brightness", "colorfulness"]
SUFFIXES = {
    "query": ["query", "queries", "query_tokens", "q_view"],
    "in_proj_weight": ["in_proj_weight"],
    "in_proj_bias": ["in_proj_bias"],
    "out_proj.weight": ["out_proj.weight"],
    "out_proj.bias": ["out_proj.bias"],
}
def flatten(obj, prefix=""):
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}.{i}" if prefix else str(i))


def find(flat, aspect, suffixes):
    hits = [(k, v) for k, v in flat.items() if aspect in k.split(".")[0:-1] + [k.split(".")[0]] or k.startswith(aspect)]
    hits = [(k, v) for k, v in hits if any(k == s or k.endswith("." + s) or k.endswith("_" + s) for s in suffixes)]
    if len(hits) != 1:
        raise SystemExit(f"error: expected one tensor for aspect '{aspect}' ending in {suffixes}, found {[k for k, _ in hits]}")
    return hits[0][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aspects", help="the release's aspect-module file (.pth)")
    ap.add_argument("--soft-prompt", help="the release's soft-prompt file (.pt)")
    ap.add_argument("--aspect-names", default=",".join(ASPECTS))
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not args.aspects and not args.soft_prompt:
        raise SystemExit("error: give --aspects and/or --soft-prompt")
    tensors = {}
    if args.aspects:
        flat = dict(flatten(torch.load(args.aspects, map_location="cpu")))
        flat = {k[len("module."):] if k.startswith("module.") else k: v for k, v in flat.items()}
        for aspect in args.aspect_names.split(","):
            for name, suffixes in SUFFIXES.items():
                t = find(flat, aspect, suffixes).float()
                if name == "query" and t.dim() == 3:
                    t = t.reshape(-1, t.shape[-1])
                tensors[f"aspect.{aspect}.{name}"] = t
    if args.soft_prompt:
        flat = dict(flatten(torch.load(args.soft_prompt, map_location="cpu")))
        if len(flat) != 1:
            raise SystemExit(f"error: {args.soft_prompt}: expected one tensor, found {list(flat)}")
        t = next(iter(flat.values())).float()
        tensors["soft_prompt"] = t.reshape(-1, t.shape[-1])
    stage = "prompt" if args.soft_prompt else "aspects"
    write_safetensors(args.out, tensors, {"format": "emotune-checkpoint-1", "emotune.stage": stage,
                                          "emotune.bundle": "", "emotune.step": "0",
                                          "emotune.config": "", "emotune.converted_from": "reference MASP release"})
    print(f"wrote {args.out}: {len(tensors)} tensors")


if __name__ == "__main__":
    sys.exit(main())
