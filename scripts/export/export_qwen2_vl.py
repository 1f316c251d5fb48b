#!/usr/bin/python3
"""Turns a Hugging Face Qwen2-VL checkpoint directory into an emotune bundle (docs/bundle.md, docs/models.md):

    /usr/bin/python3 scripts/export/export_qwen2_vl.py ~/models/Qwen2-VL-7B-Instruct bundles/qwen2-vl-7b \
        --image-size 448x448 --dtype bf16

It reads config.json, the safetensors weights (model.safetensors or the shards of its index, memory-mapped:
a tensor is copied only when its dtype changes), tokenizer.json and, when present, preprocessor_config.json,
and writes vlm.pt (TorchScript of emotune_vlm.qwen2_vl), bundle.yaml and tokenizer.json. Needs Debian's
python3-torch and python3-yaml only; transformers is not used.

Every checkpoint tensor must be used and every module tensor loaded: a missing or unexpected name, or a wrong
shape, is an error naming the tensor and its file.

The resolution is fixed per bundle (both sides multiples of 28): T = H*W/784 visual tokens. Qwen2-VL itself
resizes each image to about its own size (between 4 and 16,384 tokens); a fixed size makes batches
rectangular and the prefix cache shareable, at the price of distorting aspect ratios and of detail in large
images. 448x448 (256 tokens) keeps a 7B stage-2 sequence near 330 tokens.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402

from emotune_vlm.exporting import CLIP_MEAN, CLIP_STD, Exporter, dump_bundle_yaml, tie_lm_head  # noqa: E402
from emotune_vlm.qwen2_vl import Qwen2VLBundleModel, Qwen2VLShape  # noqa: E402

CHAT = {"system_start": "<|im_start|>system\n", "user_start": "<|im_start|>user\n",
        "assistant_start": "<|im_start|>assistant\n", "end_of_turn": "<|im_end|>", "turn_separator": "\n",
        "image_open": "<|vision_start|>", "image_close": "<|vision_end|>"}
EXPORT = Exporter("export_qwen2_vl")
fail = EXPORT.fail


def bundle_yaml(args, shape: Qwen2VLShape, pad: int, eos: int, mean, std) -> str:
    spec = {
        "format_version": 1, "name": args.name, "backend": "torchscript", "model_file": "vlm.pt",
        "hidden_size": shape.hidden, "vocab_size": shape.vocab,
        "image": {"height": shape.image_height, "width": shape.image_width, "mean": [float(x) for x in mean],
                  "std": [float(x) for x in std], "visual_tokens": shape.visual_tokens},
        "positions": {"kind": "mrope", "image_grid": [shape.grid_h // shape.merge, shape.grid_w // shape.merge]},
        "tokenizer": {"kind": "bpe", "file": "tokenizer.json"},
        "chat_template": dict(CHAT),
        "special_tokens": {"pad": pad, "eos": eos},
    }
    header = (f"# emotune VLM bundle (docs/bundle.md), written by scripts/export/export_qwen2_vl.py from\n"
              f"# {os.path.abspath(args.hf_dir)}\n")
    return dump_bundle_yaml(spec, header)


def read_shape(hf_dir: str, height: int, width: int) -> Qwen2VLShape:
    """HF_DIR/config.json as a Qwen2VLShape at HxW; an error ends the program naming the file and key."""
    config = EXPORT.read_json(os.path.join(hf_dir, "config.json"))
    if config.get("model_type") != "qwen2_vl":
        fail(f"{hf_dir}/config.json: model_type is {config.get('model_type')!r}, expected 'qwen2_vl'")
    try:
        return Qwen2VLShape(config, height, width)
    except (KeyError, ValueError) as e:
        fail(f"{hf_dir}/config.json: {str(e).strip(chr(34) + chr(39))}")


def load_model(hf_dir: str, shape: Qwen2VLShape, dtype: torch.dtype):
    """(model, bytes read): every checkpoint tensor loaded by name into a Qwen2VLBundleModel as a frozen CPU
    parameter of `dtype` (still memory-mapped where the checkpoint's dtype is already `dtype`). Also used by
    bench/stage2_eager_reference.py."""
    model = Qwen2VLBundleModel(shape, device=torch.device("meta"))
    nbytes = EXPORT.load_weights(model, hf_dir, dtype, "Qwen2-VL", tie=tie_lm_head(model, shape.tied, "lm_head.weight"))
    return model, nbytes


def main():
    args = EXPORT.arguments(__doc__, "448x448", "HxW, multiples of 28 (default 448x448: 256 tokens)")
    started = time.time()
    height, width = EXPORT.parse_size(args.image_size, "448x448")
    shape = read_shape(args.hf_dir, height, width)
    args.name = args.name or f"{os.path.basename(os.path.normpath(args.hf_dir))}-{height}x{width}"
    tok_path = os.path.join(args.hf_dir, "tokenizer.json")
    tokenizer = EXPORT.read_json(tok_path)
    why = "Qwen2-VL's chat template needs it"
    pad = EXPORT.token_id(tokenizer, "<|endoftext|>", tok_path, why)
    eos = EXPORT.token_id(tokenizer, CHAT["end_of_turn"], tok_path, why)
    for piece in ("<|im_start|>", "<|vision_start|>", "<|vision_end|>"):
        EXPORT.token_id(tokenizer, piece, tok_path, why)
    pre = EXPORT.read_json(os.path.join(args.hf_dir, "preprocessor_config.json"), required=False)

    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model, nbytes = load_model(args.hf_dir, shape, dtype)
    text = bundle_yaml(args, shape, pad, eos, pre.get("image_mean", CLIP_MEAN), pre.get("image_std", CLIP_STD))
    EXPORT.write_bundle(args.out_dir, model, tok_path, text,
                        f"{args.hf_dir} -> {args.out_dir}: {nbytes / 2**20:.1f} MiB of weights read, {shape.visual_tokens} "
                        f"visual tokens at {height}x{width}, {args.dtype}, {time.time() - started:.1f} s")

if __name__ == "__main__":
    main()
