"""Random-init checkpoints of real configurations, written the way the Hugging Face hub stores them (config.json,
bf16 safetensors shards plus model.safetensors.index.json, a tokenizer.json), so exporters and emotune can be
measured at real scale without the weights (scripts/export/make_random_*.py). Tensors are written one at a time:
the writer never holds more than one in memory. Values are N(0, 0.02), norm weights 1: they say nothing about
accuracy but everything about memory and time."""
import json
import os
import shutil
import struct

import torch

from .safetensors_io import NAMES


def is_norm_weight(name: str) -> bool:
    """LayerNorm/RMSNorm scales of both architectures (written as ones)."""
    return (name.endswith("norm.weight") or ".norm" in name or "ln_q.weight" in name
            or ("layer_norm" in name and name.endswith(".weight")))


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def write_shards(out: str, shapes, shard_bytes: int, gen: torch.Generator) -> dict:
    """Plans shards, then writes each tensor straight to its shard; returns the index's weight_map."""
    shards, current, size = [], [], 0
    for name, shape in shapes:
        nbytes = numel(shape) * 2
        if current and size + nbytes > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += nbytes
    shards.append(current)
    weight_map = {}
    for k, shard in enumerate(shards):
        file = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape in shard:
            header[name] = {"dtype": NAMES[torch.bfloat16], "shape": shape, "data_offsets": [offset, offset + numel(shape) * 2]}
            offset += numel(shape) * 2
            weight_map[name] = file
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        with open(os.path.join(out, file), "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            for name, shape in shard:
                if is_norm_weight(name):
                    t = torch.ones(shape, dtype=torch.bfloat16)
                else:
                    t = (torch.randn(shape, generator=gen) * 0.02).to(torch.bfloat16)
                f.write(t.view(-1).view(torch.uint8).numpy().tobytes())
                del t
        print(f"wrote {file} ({offset / 2**30:.2f} GiB)")
    return weight_map


def write_checkpoint_directory(out: str, config: dict, shapes, tokenizer: str, shard_gib: float, seed: int) -> None:
    """config.json, the shards, their index and the tokenizer, in `out`."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shutil.copyfile(tokenizer, os.path.join(out, "tokenizer.json"))
    weight_map = write_shards(out, shapes, int(shard_gib * 2**30), torch.Generator().manual_seed(seed))
    total = sum(numel(s) for _, s in shapes)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total * 2}, "weight_map": weight_map}, f, indent=1)
