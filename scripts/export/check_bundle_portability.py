"""Does a bundle's vlm.pt, written by Debian's torch 1.13, give the same numbers under another torch and on CUDA?

Committed bundles are written with Debian's torch (the CI machines'); GPU machines run PyTorch 2.x, whose
LibTorch loads the same file. TorchScript promises backward compatibility of the file format, not of the
numbers, so this checks the numbers: every method of the bundle contract on fixed, seeded inputs.

  /usr/bin/python3 scripts/export/check_bundle_portability.py --bundle models/tiny --write ref.npz   (torch 1.13, CPU)
  python3 scripts/export/check_bundle_portability.py --bundle models/tiny --compare ref.npz --device cpu --device cuda

--compare prints the max relative error of each output per device and exits 1 past the tolerance
(fp32: 1e-4 on CPU, 1e-3 on CUDA with TF32 off; different kernels reorder the sums).
"""
import argparse
import sys

import numpy as np
import torch


def inputs(bundle, seed):
    g = torch.Generator().manual_seed(seed)
    cfg = {}
    for line in open(f"{bundle}/bundle.yaml"):
        key, _, value = line.partition(":")
        if key.strip() in ("height", "width", "vocab_size"):
            cfg[key.strip()] = int(value)
    pixels = torch.randn(2, 3, cfg["height"], cfg["width"], generator=g)
    ids = torch.randint(4, cfg["vocab_size"], (2, 12), generator=g)
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, :3] = 0  # left padding, as emotune batches
    return {"pixels": pixels, "ids": ids, "mask": mask}


def outputs(model, x, device):
    x = {k: v.to(device) for k, v in x.items()}
    with torch.no_grad():
        out = {}
        visual = model.encode_image(x["pixels"])
        embeds = model.embed_tokens(x["ids"])
        seq = torch.cat([embeds[:, :4], visual, embeds[:, 4:]], 1)
        mask = torch.cat([x["mask"][:, :4], torch.ones(2, visual.shape[1], dtype=torch.long, device=device), x["mask"][:, 4:]], 1)
        out["encode_image"] = visual
        out["embed_tokens"] = embeds
        out["forward"] = model.forward(seq, mask)
        methods = {m for m in ("hidden_states", "project_logits", "prefill", "hidden_states_cached", "last_attention") if hasattr(model, m)}
        if "hidden_states" in methods:
            out["hidden_states"] = model.hidden_states(seq, mask)
        if "project_logits" in methods:
            out["project_logits"] = model.project_logits(out.get("hidden_states", seq)[:, -1])
        if "prefill" in methods and "hidden_states_cached" in methods:
            split = 4 + visual.shape[1]
            past = model.prefill(seq[:, :split], mask[:, :split])
            out["hidden_states_cached"] = model.hidden_states_cached(past, seq[:, split:], mask)
        if "last_attention" in methods:
            out["last_attention"] = model.last_attention(seq, mask)
    return {k: v.float().cpu().numpy() for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--write", help="write inputs and this torch's CPU outputs here (.npz)")
    ap.add_argument("--compare", help="compare against a file written by --write")
    ap.add_argument("--device", action="append", help="cpu, cuda (repeatable; default cpu)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if bool(a.write) == bool(a.compare):
        sys.exit("give exactly one of --write and --compare")
    model = torch.jit.load(f"{a.bundle}/vlm.pt", map_location="cpu").eval()
    print(f"torch {torch.__version__}: loaded {a.bundle}/vlm.pt")
    if a.write:
        x = inputs(a.bundle, a.seed)
        ref = outputs(model, x, "cpu")
        np.savez(a.write, **{f"in_{k}": v.numpy() for k, v in x.items()}, **{f"out_{k}": v for k, v in ref.items()},
                 torch_version=np.array(torch.__version__))
        print(f"wrote {a.write}: {', '.join(ref)}")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ref = np.load(a.compare)
    x = {k[3:]: torch.from_numpy(ref[k]) for k in ref.files if k.startswith("in_")}
    print(f"reference written by torch {ref['torch_version']}")
    failures = 0
    for device in a.device or ["cpu"]:
        tolerance = 1e-4 if device == "cpu" else 1e-3
        got = outputs(model.to(device), x, device)
        for name, value in got.items():
            want = ref[f"out_{name}"]
            rel = float(np.abs(value - want).max() / max(np.abs(want).max(), 1e-30))
            ok = np.isfinite(value).all() and rel < tolerance
            failures += not ok
            print(f"{device:5s} {name:22s} max relative error {rel:.2e} (tolerance {tolerance:.0e}) {'OK' if ok else 'FAIL'}")
        model.to("cpu")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
