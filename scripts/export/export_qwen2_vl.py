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
import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402
import yaml  # noqa: E402

from emotune_vlm.qwen2_vl import Qwen2VLBundleModel, Qwen2VLShape  # noqa: E402
from emotune_vlm.safetensors_io import open_checkpoint  # noqa: E402

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CHAT = {"system_start": "<|im_start|>system\n", "user_start": "<|im_start|>user\n",
        "assistant_start": "<|im_start|>assistant\n", "end_of_turn": "<|im_end|>", "turn_separator": "\n",
        "image_open": "<|vision_start|>", "image_close": "<|vision_end|>"}


def fail(message: str):
    raise SystemExit(f"export_qwen2_vl: error: {message}")


def read_json(path: str, required: bool = True) -> dict:
    if not os.path.exists(path):
        if required:
            fail(f"{path} not found")
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            fail(f"{path}: not valid JSON ({e})")


def set_parameter(model: torch.nn.Module, name: str, value: torch.Tensor) -> None:
    *path, leaf = name.split(".")
    owner = model.get_submodule(".".join(path))
    setattr(owner, leaf, torch.nn.Parameter(value, requires_grad=False))


def load_weights(model: torch.nn.Module, shape: Qwen2VLShape, hf_dir: str, dtype: torch.dtype) -> int:
    """Loads every checkpoint tensor into the module by name; returns the number of bytes read."""
    expected = dict(model.named_parameters())
    loaded, nbytes = set(), 0
    try:
        for name, f in open_checkpoint(hf_dir):
            if name not in expected:
                fail(f"{f.path}: unexpected tensor '{name}' (not part of Qwen2-VL as emotune exports it)")
            if list(f.shape(name)) != list(expected[name].shape):
                fail(f"{f.path}: tensor '{name}' has shape {list(f.shape(name))}, config.json implies "
                     f"{list(expected[name].shape)}")
            t = f.tensor(name)
            nbytes += t.numel() * t.element_size()
            set_parameter(model, name, t.to(dtype))
            loaded.add(name)
    except (KeyError, ValueError) as e:
        fail(str(e).strip("'\""))
    if shape.tied and "lm_head.weight" not in loaded:  # tie_word_embeddings: the head is the embedding
        model.lm_head.weight = model.model.embed_tokens.weight
        loaded.add("lm_head.weight")
    missing = sorted(set(expected) - loaded)
    if missing:
        fail(f"{hf_dir}: the checkpoint lacks {len(missing)} tensor(s) the model needs, e.g. {missing[:5]}")
    return nbytes


def token_id(tokenizer: dict, content: str, path: str) -> int:
    for t in tokenizer.get("added_tokens", []):
        if t.get("content") == content:
            return int(t["id"])
    vocab = (tokenizer.get("model") or {}).get("vocab") or {}
    if content in vocab:
        return int(vocab[content])
    fail(f"{path}: token '{content}' not found (Qwen2-VL's chat template needs it)")


class BundleDumper(yaml.SafeDumper):
    """Block style, lists of numbers inline, strings with newlines double-quoted ("<|im_start|>user\\n")."""


BundleDumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"' if "\n" in s else None))
BundleDumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


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
    return header + yaml.dump(spec, Dumper=BundleDumper, sort_keys=False, allow_unicode=True, width=120)


def parse_size(text: str):
    try:
        h, w = (int(x) for x in text.lower().split("x"))
        return h, w
    except ValueError:
        fail(f"--image-size '{text}': expected HxW, e.g. 448x448")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hf_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--image-size", default="448x448", help="HxW, multiples of 28 (default 448x448: 256 tokens)")
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16",
                    help="weights in vlm.pt (emotune's `precision` may still run a bf16 bundle in fp32)")
    ap.add_argument("--name", help="the bundle's name (default: the checkpoint folder's name and the size)")
    args = ap.parse_args()
    started = time.time()
    config = read_json(os.path.join(args.hf_dir, "config.json"))
    if config.get("model_type") != "qwen2_vl":
        fail(f"{args.hf_dir}/config.json: model_type is {config.get('model_type')!r}, expected 'qwen2_vl'")
    height, width = parse_size(args.image_size)
    try:
        shape = Qwen2VLShape(config, height, width)
    except (KeyError, ValueError) as e:
        fail(f"{args.hf_dir}/config.json: {str(e).strip(chr(34) + chr(39))}")
    args.name = args.name or f"{os.path.basename(os.path.normpath(args.hf_dir))}-{height}x{width}"
    tok_path = os.path.join(args.hf_dir, "tokenizer.json")
    tokenizer = read_json(tok_path)
    pad = token_id(tokenizer, "<|endoftext|>", tok_path)
    eos = token_id(tokenizer, CHAT["end_of_turn"], tok_path)
    for piece in ("<|im_start|>", "<|vision_start|>", "<|vision_end|>"):
        token_id(tokenizer, piece, tok_path)
    pre = read_json(os.path.join(args.hf_dir, "preprocessor_config.json"), required=False)

    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model = Qwen2VLBundleModel(shape, device=torch.device("meta"))
    nbytes = load_weights(model, shape, args.hf_dir, dtype)
    model.eval()
    scripted = torch.jit.script(model)
    os.makedirs(args.out_dir, exist_ok=True)
    tmp = os.path.join(args.out_dir, "vlm.pt.tmp")
    scripted.save(tmp)
    os.replace(tmp, os.path.join(args.out_dir, "vlm.pt"))
    shutil.copyfile(tok_path, os.path.join(args.out_dir, "tokenizer.json"))
    text = bundle_yaml(args, shape, pad, eos, pre.get("image_mean", CLIP_MEAN), pre.get("image_std", CLIP_STD))
    with open(os.path.join(args.out_dir, "bundle.yaml.tmp"), "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(os.path.join(args.out_dir, "bundle.yaml.tmp"), os.path.join(args.out_dir, "bundle.yaml"))
    print(f"export_qwen2_vl: {args.hf_dir} -> {args.out_dir}: {nbytes / 2**20:.1f} MiB of weights read, "
          f"{shape.visual_tokens} visual tokens at {height}x{width}, {args.dtype}, {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
