#!/usr/bin/python3
"""Checks an emotune bundle against a golden of Hugging Face's implementation (the format of
../shared/hf-reference/README.md; tests/fixtures/qwen2_vl_*/golden_*.safetensors are two such files):

    /usr/bin/python3 scripts/export/check_golden.py --bundle B --golden G [--tolerance 1e-4]

It runs the bundle's encode_image on the golden's pixels, puts the features in place of the image tokens
(as HF's forward does), runs forward with the golden's attention mask and position ids, and compares:
  image_features  max |delta| / max |golden|
  logits          max |delta| / max |golden| over positions where attention_mask == 1 (padded positions
                  depend on how masking is done, not on the model)
  last_attention  (when the golden has it: HF's output_attentions=True, last layer) max |delta| over the query
                  rows where attention_mask == 1, every key column; probabilities, so absolute
Prints both and exits 1 when either exceeds the tolerance, 2 on unusable input.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402
import yaml  # noqa: E402

from emotune_vlm.safetensors_io import SafetensorsFile  # noqa: E402

REQUIRED = ["pixels", "input_ids", "attention_mask", "position_ids", "image_features", "logits"]


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got - want).abs().max() / want.abs().max().clamp(min=1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--golden", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    try:
        golden = SafetensorsFile(args.golden)
    except (OSError, ValueError) as e:
        print(f"check_golden: error: {e}", file=sys.stderr)
        sys.exit(2)
    missing = [n for n in REQUIRED if n not in golden.entries]
    image_token = golden.metadata.get("image_token_id")
    if missing or image_token is None:
        print(f"check_golden: error: {args.golden}: lacks {missing or ['__metadata__.image_token_id']}", file=sys.stderr)
        sys.exit(2)
    g = {n: golden.tensor(n).clone() for n in golden.entries}
    spec_path = os.path.join(args.bundle, "bundle.yaml")
    if not os.path.exists(spec_path) or not os.path.exists(os.path.join(args.bundle, "vlm.pt")):
        print(f"check_golden: error: {args.bundle}: not a bundle (bundle.yaml and vlm.pt expected)", file=sys.stderr)
        sys.exit(2)
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f) or {}
    image = spec.get("image") or {}
    takes_positions = (spec.get("positions") or {}).get("kind") == "mrope"
    if [image.get("height"), image.get("width")] != list(g["pixels"].shape[2:]):
        print(f"check_golden: error: the golden's pixels are {list(g['pixels'].shape[2:])} but the bundle's "
              f"encode_image takes {image.get('height')}x{image.get('width')} (bundle.yaml image.height/width): "
              f"export the checkpoint at the golden's size", file=sys.stderr)
        sys.exit(2)
    torch.jit.set_fusion_strategy([("STATIC", 0)])
    vlm = torch.jit.load(os.path.join(args.bundle, "vlm.pt"))
    stored = {p.dtype for p in vlm.parameters()}
    vlm = vlm.float().eval()  # the golden is fp32; a bf16 export is checked with its weights as rounded
    with torch.no_grad():
        features = vlm.encode_image(g["pixels"])
        if features.shape != g["image_features"].shape:
            print(f"check_golden: error: encode_image gave {list(features.shape)}, the golden has "
                  f"{list(g['image_features'].shape)} (a bundle of another image size or model?)", file=sys.stderr)
            sys.exit(2)
        ids = g["input_ids"]
        embeds = vlm.embed_tokens(ids)
        image_rows = ids == int(image_token)
        if int(image_rows.sum()) != features.shape[0] * features.shape[1]:
            print(f"check_golden: error: {int(image_rows.sum())} image tokens in input_ids but "
                  f"{features.shape[0]}x{features.shape[1]} image features", file=sys.stderr)
            sys.exit(2)
        embeds[image_rows] = features.reshape(-1, features.shape[-1]).to(embeds.dtype)  # row-major, as HF
        positions = g["position_ids"]
        if positions.dim() == 2:
            positions = positions.unsqueeze(0).expand(3, -1, -1)
        attention = None
        if takes_positions:
            logits = vlm.forward(embeds, g["attention_mask"], positions).float()
            if "last_attention" in g:
                attention = vlm.last_attention(embeds, g["attention_mask"], positions).float()
        else:  # a plain bundle derives cumsum(mask) - 1 itself: the golden must have used just those
            mask = g["attention_mask"]
            own = (mask.cumsum(-1) - 1).clamp(min=0)
            real = mask.bool()
            if any(not torch.equal(positions[a][real], own[real]) for a in range(positions.shape[0])):
                print(f"check_golden: error: {args.golden} was made with positions other than cumsum(mask) - 1, "
                      f"which this bundle (positions.kind: plain) cannot be given", file=sys.stderr)
                sys.exit(2)
            logits = vlm.forward(embeds, mask).float()
            if "last_attention" in g:
                attention = vlm.last_attention(embeds, mask).float()
    real = g["attention_mask"].bool()
    feature_error = relative_error(features.float(), g["image_features"])
    logit_error = relative_error(logits[real], g["logits"][real])
    errors = [feature_error, logit_error]
    attention_text = ""
    if attention is not None:
        want = g["last_attention"]
        if attention.shape != want.shape:
            print(f"check_golden: error: last_attention gave {list(attention.shape)}, the golden has {list(want.shape)}",
                  file=sys.stderr)
            sys.exit(2)
        attention_error = float((attention - want).abs().transpose(1, 2)[real].max())  # [B,S,H,S] at real query rows
        errors.append(attention_error)
        attention_text = f", last_attention max |delta| {attention_error:.3e}"
    tag = f"{golden.metadata.get('model', '?')}/{golden.metadata.get('positions', '?')}"
    print(f"{tag}: image_features max relative error {feature_error:.3e}, logits {logit_error:.3e}{attention_text} "
          f"(tolerance {args.tolerance:g})")
    if max(errors) > args.tolerance and torch.bfloat16 in stored:
        print("check_golden: the bundle's weights are bf16: rounding alone gives ~1e-2; check parity on an fp32 "
              "export (--dtype fp32) or pass a --tolerance for bf16", file=sys.stderr)
    sys.exit(0 if max(errors) <= args.tolerance else 1)


if __name__ == "__main__":
    main()
