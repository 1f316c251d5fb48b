#!/usr/bin/python3
"""Stage 2 (soft-prompt tuning on a frozen Qwen2-VL) the way the MASP authors' reference code trains it, in eager
PyTorch: the baseline of bench/stage2_throughput.cpp, run on the same sample dump in the same order.

    /usr/bin/python3 bench/stage2_eager_reference.py --hf-dir ~/models/Qwen2-VL-7B-Instruct \
        --samples samples.safetensors --steps 50 --device cuda --out reference.json [--warmup 3]

The loop, as the reference code has it (and not as emotune's trainer does it):
  - batch 1; the soft prompt is L extra rows appended to the token-embedding matrix: one fp32 parameter
    [V+L, D] = [embed_tokens; soft_prompt], the prompt positions taking ids V..V+L-1;
  - the WHOLE [V+L, D] matrix requires grad and its gradient is masked to the last L rows (a hook), so every step
    builds a dense full-vocabulary gradient and AdamW keeps full-vocabulary moments: that is the cost measured;
  - fp32 weights under torch.autocast(bf16); the frozen vision tower runs every step (no_grad); logits at every
    position (cast to fp32, as HF's Qwen2-VL does before its loss); loss = cross-entropy averaged over the target
    tokens; backward through the whole sequence; torch.optim.AdamW at the dump's constant lr.
The model is emotune's own eager modules (scripts/emotune_vlm/qwen2_vl.py, explicit softmax attention), loaded
from the HF directory by scripts/export/export_qwen2_vl.py's read_shape/load_model.

The dump (written by the C++ side): soft_prompt [L,D] f32; sample.{i}.token_ids [S] i64 (-1 off text),
.segments [S] u8 (Text 0, Aspect 1, Visual 2, SoftPrompt 3, Label 4, Pad 5), .loss_mask [S] u8 (the token at t
is a target of the logits at t-1), .position_ids [S] or [3,S] i64, .pixels [3,H,W] f32 (normalised); metadata
samples, positions, lr, beta1, beta2, eps, weight_decay, image_height, image_width.
The result JSON: per-step losses, samples/s after the warm-up steps, peak memory, model FLOPs per sample.
"""
import argparse
import json
import os
import resource
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "export"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from emotune_vlm.safetensors_io import SafetensorsFile  # noqa: E402
from export_qwen2_vl import load_model, read_shape  # noqa: E402

TEXT, ASPECT, VISUAL, SOFT, LABEL, PAD = range(6)
FIELDS = ("token_ids", "segments", "loss_mask", "position_ids", "pixels")


def fail(message: str):
    raise SystemExit(f"stage2_eager_reference: error: {message}")


def read_dump(path: str):
    """(soft_prompt [L,D], [sample dicts of CPU tensors], metadata)."""
    try:
        f = SafetensorsFile(path)
        meta = f.metadata
        missing = [k for k in ("samples", "positions", "lr", "beta1", "beta2", "eps", "weight_decay",
                               "image_height", "image_width") if k not in meta]
        if missing:
            fail(f"{path}: metadata lacks {missing}")
        samples = [{k: f.tensor(f"sample.{i}.{k}").clone() for k in FIELDS} for i in range(int(meta["samples"]))]
        return f.tensor("soft_prompt").float().clone(), samples, meta
    except (KeyError, ValueError, OSError) as e:
        fail(str(e).strip("'\""))


def step_inputs(s: dict, i: int, vocab: int, rows: int, visual_tokens: int, device: torch.device) -> dict:
    """One sample as the model takes it: ids into the [V+L] matrix, where the visual rows go, shifted targets."""
    seg, ids = s["segments"].long(), s["token_ids"].long().clone()
    soft, visual, text = seg == SOFT, seg == VISUAL, (seg == TEXT) | (seg == LABEL)
    if (~(soft | visual | text)).any():  # aspect tokens' embeddings are not in the dump; a batch of 1 has no pad
        fail(f"sample {i}: segments other than Text/Visual/SoftPrompt/Label are not supported")
    if int(visual.sum()) != visual_tokens:
        fail(f"sample {i}: {int(visual.sum())} visual positions, the model gives {visual_tokens} at this image size")
    n_soft = int(soft.sum())
    if n_soft == 0 or n_soft % rows:
        fail(f"sample {i}: {n_soft} soft-prompt positions, expected a positive multiple of L = {rows}")
    if ((ids[text] < 0) | (ids[text] >= vocab)).any():
        fail(f"sample {i}: a text/label token id outside [0, {vocab})")
    target = s["loss_mask"].bool()
    if not target[1:].any() or (target & ~text).any() or target[0]:
        fail(f"sample {i}: loss_mask must mark text/label positions after the first, at least one")
    ids[soft] = vocab + torch.arange(rows).repeat(n_soft // rows)  # the prompt once or twice, rows 0..L-1 in order
    ids[visual] = 0  # a placeholder row, overwritten by the image features (HF's masked_scatter)
    n = ids.numel()
    pos = s["position_ids"].long()
    if list(pos.shape) not in ([n], [3, n]):
        fail(f"sample {i}: position_ids has shape {list(pos.shape)}, expected [{n}] or [3, {n}]")
    pos = pos.view(1, 1, n).expand(3, 1, n) if pos.dim() == 1 else pos.view(3, 1, n)  # plain: same on t, h, w
    targets = torch.where(target, ids, torch.full_like(ids, -100))[1:]  # logits at t-1 predict the token at t
    return {"ids": ids.view(1, n).to(device), "visual": visual.view(1, n, 1).to(device),
            "targets": targets.view(1, n - 1).to(device), "positions": pos.contiguous().to(device),
            "mask": torch.ones(1, n, dtype=torch.long, device=device), "pixels": s["pixels"].float()[None].to(device)}


def extend_embedding(model, soft_prompt: torch.Tensor) -> torch.nn.Embedding:
    """Replaces the model's embedding by the reference's [V+L, D] one (all of it trainable), the gradient masked
    to the prompt rows by a hook. A tied LM head keeps the original V rows (logits stay over V)."""
    old = model.model.embed_tokens.weight
    vocab = old.shape[0]
    weight = torch.cat([old.detach().float(), soft_prompt.to(old.device, torch.float32)])
    emb = torch.nn.Embedding.from_pretrained(weight, freeze=False)
    model.model.embed_tokens = emb  # the untied original is freed here, as resize_token_embeddings frees it
    keep = torch.zeros(weight.shape[0], 1, device=weight.device)
    keep[vocab:] = 1
    emb.weight.register_hook(lambda g: g * keep)  # full-size masked copy of a full-size gradient, every step
    return emb


def step_loss(model, x: dict, device_type: str, autocast: bool) -> torch.Tensor:
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=autocast):
        with torch.no_grad():  # the frozen vision tower, run every step as the reference does
            image = model.encode_image(x["pixels"])
        embeds = model.embed_tokens(x["ids"])  # [1,S,D] fp32 rows of the [V+L, D] matrix
        visual = x["visual"].expand_as(embeds)
        embeds = embeds.masked_scatter(visual, image.to(embeds.dtype))
        logits = model(embeds, x["mask"], x["positions"])  # every position's logits, [1,S,V]
    logits = logits.float()
    return F.cross_entropy(logits[0, :-1], x["targets"][0], ignore_index=-100)  # mean over the target tokens


def model_flops(model, shape, seq: int) -> dict:
    """Model FLOPs of one sample (a multiply-add is 2 FLOPs; PaLM-style, attention counted as the full S x S the
    eager code computes, not halved for causality):
      decoder  4*P_dec*S         forward 2*P_dec*S plus the backward to the inputs only (weights frozen: no weight
                                 gradient), another 2*P_dec*S; P_dec = the layers' 2-D weights plus the LM head
                                 (the token embedding is a lookup, not a matmul);
               + 12*S^2*D_att*n  attention scores QK^T and mixing AV, 2*S^2*D_att each forward (D_att = heads *
                                 head_dim) and twice that backward (dQ, dK, dAtt, dV);
      vision   2*P_blk*N + 2*P_merge*T + 4*N^2*E*depth   forward only (no_grad); N = patches (4 T), T = visual
                                 tokens, P_blk = blocks + patch embedding (its kernel summed over the 2 frames, as
                                 computed), P_merge = the merger, which runs on the T merged tokens.
    Left out: norms, softmax, rotary, activations, the loss, the embedding lookup and its gradient, AdamW."""
    mat = lambda m: sum(p.numel() for p in m.parameters() if p.dim() >= 2)  # noqa: E731
    p_dec = mat(model.model.layers) + model.lm_head.weight.numel()
    p_vis = mat(model.visual.blocks) + model.visual.patch_embed.proj.weight.numel() // shape.temporal_patch
    p_merge = mat(model.visual.merger)
    n, t = shape.grid_h * shape.grid_w, shape.visual_tokens
    out = {"decoder_matmul": 4 * p_dec * seq, "decoder_attention": 12 * seq * seq * shape.heads * shape.head_dim * shape.layers,
           "vision_matmul": 2 * p_vis * n + 2 * p_merge * t, "vision_attention": 4 * n * n * shape.vision_dim * shape.vision_depth}
    out["total"] = sum(out.values())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hf-dir", required=True)
    ap.add_argument("--samples", required=True, help="the C++ side's sample dump (safetensors)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3, help="steps left out of samples_per_s")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-autocast", action="store_true", help="plain fp32 (for checks; the reference uses bf16)")
    args = ap.parse_args()
    if args.steps <= args.warmup or args.warmup < 0:
        fail(f"--steps {args.steps} must exceed --warmup {args.warmup} (>= 0)")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        fail("--device cuda but torch.cuda.is_available() is false")

    soft_prompt, samples, meta = read_dump(args.samples)
    shape = read_shape(args.hf_dir, int(meta["image_height"]), int(meta["image_width"]))
    if soft_prompt.dim() != 2 or soft_prompt.shape[1] != shape.hidden:
        fail(f"{args.samples}: soft_prompt has shape {list(soft_prompt.shape)}, expected [L, {shape.hidden}]")
    model, _ = load_model(args.hf_dir, shape, torch.float32)
    model = model.to(device).eval()
    emb = extend_embedding(model, soft_prompt)
    rows = soft_prompt.shape[0]
    for i, s in enumerate(samples):
        if list(s["pixels"].shape) != [3, shape.image_height, shape.image_width]:
            fail(f"sample {i}: pixels {list(s['pixels'].shape)}, expected [3, {shape.image_height}, {shape.image_width}]")
    inputs = [step_inputs(s, i, shape.vocab, rows, shape.visual_tokens, device) for i, s in enumerate(samples)]
    opt = torch.optim.AdamW([emb.weight], lr=float(meta["lr"]), betas=(float(meta["beta1"]), float(meta["beta2"])),
                            eps=float(meta["eps"]), weight_decay=float(meta["weight_decay"]))  # decays all V+L rows

    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)  # the training steps' peak, the resident weights included
    losses, started = [], None
    for k in range(args.steps):
        if k == args.warmup:
            sync()
            started = time.perf_counter()
        loss = step_loss(model, inputs[k % len(inputs)], device.type, not args.no_autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())  # read at the end: no extra host sync inside the timed steps
    sync()
    seconds = time.perf_counter() - started
    timed = [inputs[k % len(inputs)]["ids"].shape[1] for k in range(args.warmup, args.steps)]
    flops = [model_flops(model, shape, s) for s in timed]
    mean = {key: sum(f[key] for f in flops) / len(flops) for key in flops[0]}
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    result = {
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "torch": torch.__version__, "autocast": "off" if args.no_autocast else "bf16",
        "steps": args.steps, "warmup": args.warmup, "losses": [float(x) for x in losses],
        "samples_per_s": (args.steps - args.warmup) / seconds, "seconds_timed": seconds,
        "peak_memory_bytes": int(peak),
        "peak_memory_kind": "torch.cuda.max_memory_allocated" if device.type == "cuda" else "peak RSS (ru_maxrss)",
        "model_flops_per_sample": mean["total"], "model_flops_parts": mean,
        "flops_formula": "4*P_dec*S + 12*S^2*D_att*layers + 2*P_vis_blocks*N_patch + 2*P_merger*T_vis "
                         "+ 4*N_patch^2*E_vis*depth (mean over the timed steps' samples)",
        "sequence_tokens_mean": sum(timed) / len(timed), "visual_tokens": shape.visual_tokens,
        "prompt_rows": rows, "vocab": shape.vocab, "trainable_parameters": emb.weight.numel(),
    }
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(f"stage2_eager_reference: {result['device']}, torch {torch.__version__}, {result['autocast']}: "
          f"{result['samples_per_s']:.3f} samples/s over {args.steps - args.warmup} steps, peak "
          f"{peak / 2**30:.2f} GiB, {mean['total'] / 1e9:.3f} GFLOP/sample, loss {result['losses'][0]:.4f} -> "
          f"{result['losses'][-1]:.4f}")


if __name__ == "__main__":
    main()
