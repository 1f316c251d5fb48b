#!/usr/bin/python3
"""Writes the Qwen2-VL golden fixtures (tests/fixtures/qwen2_vl_*/): tiny random-init models of Hugging Face's
own Qwen2VLForConditionalGeneration, saved with save_pretrained, and HF's outputs for fixed inputs, in the
golden format of ../shared/hf-reference/README.md. CI never runs this; it checks the files it wrote.

It needs the reference environment (transformers at its 4.45 release point on Debian's torch 1.13, with the
two stand-ins), set up outside the repository as ../shared/hf-reference/README.md says, then:

    export PYTHONPATH=/tmp/hf-ref/src/src:/tmp/hf-ref/shims HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    /usr/bin/python3 scripts/export/make_qwen2_vl_golden.py --out tests/fixtures --commit a55adee8...

Two models: `qwen2_vl_square` (84x84 image, 9 visual tokens, GQA 4:2, untied head, 2 layers) and
`qwen2_vl_wide` (56x112, a non-square 2x4 grid, GQA 4:1, tied head, 3 layers). Every weight is drawn at
random (norm weights near 1, non-zero biases), so an exporter that drops a bias or a norm weight fails.
For each model, one golden per position mode: `mrope` (HF's get_rope_index) and `plain` (cumsum(mask) - 1
on all three axes, emotune's default and the reference MASP code's). Each golden also holds the last decoder
layer's attention probabilities (output_attentions=True), which SEPM reads through `last_attention`.
"""
import argparse
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emotune_vlm.exporting import save_fixture_checkpoint  # noqa: E402
from emotune_vlm.safetensors_io import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "..", "tests", "fixtures", "qwen2_like_bpe", "tokenizer.json")
# The fixture tokenizer's added tokens (tests/fixtures/qwen2_like_bpe/tokenizer.json).
PAD, IM_START, IM_END, VSTART, VEND, IMG, VID = 0, 1, 2, 3, 4, 5, 6
MODELS = {
    "qwen2_vl_square": dict(image=(84, 84), layers=2, heads=4, kv_heads=2, tied=False, section=[2, 3, 3]),
    "qwen2_vl_wide": dict(image=(56, 112), layers=3, heads=4, kv_heads=1, tied=True, section=[4, 2, 2]),
}
VOCAB = 4096  # the tokenizer's 4,007 tokens, rounded up as real checkpoints round theirs


def build(spec):
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    cfg = Qwen2VLConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=spec["layers"],
        num_attention_heads=spec["heads"], num_key_value_heads=spec["kv_heads"], max_position_embeddings=512,
        rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=spec["tied"],
        rope_scaling={"type": "mrope", "mrope_section": spec["section"]},
        vision_config=dict(depth=2, embed_dim=32, hidden_size=64, num_heads=4, mlp_ratio=2),
        image_token_id=IMG, vision_start_token_id=VSTART, vision_end_token_id=VEND, video_token_id=VID,
        bos_token_id=IM_START, eos_token_id=IM_END, pad_token_id=PAD, attn_implementation="eager")
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "norm1" in name or "norm2" in name or "ln_q.weight" in name \
                    or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif name == "model.embed_tokens.weight":
                p.copy_(torch.randn_like(p))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / math.sqrt(fan_in))
    if spec["tied"]:
        model.tie_weights()
    return model


def hf_pixel_values(pixels: torch.Tensor, patch: int = 14, temporal: int = 2, merge: int = 2) -> torch.Tensor:
    """Qwen2VLImageProcessor's patchify of already-normalised images (its resize, rescale and normalise
    switched off), so the golden checks the model and preprocessing is compared on its own."""
    from transformers import Qwen2VLImageProcessor
    proc = Qwen2VLImageProcessor(patch_size=patch, temporal_patch_size=temporal, merge_size=merge)
    out = proc(images=[p.numpy() for p in pixels], do_resize=False, do_rescale=False, do_normalize=False,
               data_format="channels_first", input_data_format="channels_first", return_tensors="pt")
    return out["pixel_values"].float(), out["image_grid_thw"]


def inputs(tokens: int, gen: torch.Generator):
    """Two rows, an image in each; row 1 is shorter and left-padded by 3."""
    def text(n):
        return torch.randint(7, 4000, (n,), generator=gen).tolist()
    row0 = [IM_START] + text(5) + [IM_END, IM_START] + text(2) + [VSTART] + [IMG] * tokens + [VEND] + text(6) + [IM_END]
    row1 = [IM_START] + text(3) + [IM_END, IM_START] + text(1) + [VSTART] + [IMG] * tokens + [VEND] + text(5) + [IM_END]
    pad = len(row0) - len(row1)
    ids = torch.tensor([row0, [PAD] * pad + row1])
    mask = torch.ones_like(ids)
    mask[1, :pad] = 0
    return ids, mask


def write_model(name, spec, out_root, commit):
    gen = torch.Generator().manual_seed(1234 + len(name))
    torch.manual_seed(99 + len(name))
    model = build(spec)
    root, hf_dir = save_fixture_checkpoint(model, out_root, name)
    shutil.copyfile(TOKENIZER, os.path.join(hf_dir, "tokenizer.json"))
    h, w = spec["image"]
    pixels = torch.randn(2, 3, h, w, generator=gen).clamp(-1.8, 2.1)  # the range CLIP normalisation gives
    pixel_values, grid = hf_pixel_values(pixels)
    tokens = int(grid[0].prod()) // 4
    ids, mask = inputs(tokens, gen)
    with torch.no_grad():
        features = model.visual(pixel_values, grid_thw=grid).view(2, tokens, -1)
        for mode in ("plain", "mrope"):
            if mode == "mrope":
                pos = model.get_rope_index(ids, grid, None, mask)[0]
            else:
                pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1).unsqueeze(0).expand(3, -1, -1).contiguous()
            out = model(input_ids=ids, attention_mask=mask, position_ids=pos, pixel_values=pixel_values,
                        image_grid_thw=grid, output_attentions=True)
            logits = out.logits
            write_safetensors(os.path.join(root, f"golden_{mode}.safetensors"), {
                "pixels": pixels, "input_ids": ids, "attention_mask": mask, "position_ids": pos,
                "image_grid_thw": grid, "image_features": features, "logits": logits.float(),
                "last_attention": out.attentions[-1].float(),
            }, {"model": "qwen2_vl", "positions": mode, "image_token_id": str(IMG), "transformers_commit": commit})
            print(f"{name}/{mode}: logits {tuple(logits.shape)} max |logit| {logits.abs().max():.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the fixtures folder (tests/fixtures)")
    ap.add_argument("--commit", required=True, help="the transformers commit the environment was built from")
    args = ap.parse_args()
    np.random.seed(0)
    for name, spec in MODELS.items():
        write_model(name, spec, args.out, args.commit)


if __name__ == "__main__":
    main()
