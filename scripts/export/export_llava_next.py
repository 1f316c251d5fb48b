#!/usr/bin/python3
"""Turns a Hugging Face LLaVA-NeXT checkpoint directory (LLaVA-v1.6-Mistral: LlavaNextForConditionalGeneration
with a CLIP ViT and a Mistral decoder) into an emotune bundle (docs/bundle.md, docs/models.md):

    /usr/bin/python3 scripts/export/export_llava_next.py ~/models/llava-v1.6-mistral-7b-hf bundles/llava-next-7b \
        --image-size 672x672 --dtype bf16

It reads config.json, the safetensors weights (model.safetensors or the shards of its index, memory-mapped: a
tensor is copied only when its dtype changes), tokenizer.json and, when present, preprocessor_config.json, and
writes vlm.pt (TorchScript of emotune_vlm.llava_next), bundle.yaml and tokenizer.json. Needs Debian's
python3-torch and python3-yaml only; transformers is not used.

Every checkpoint tensor must be used and every module tensor loaded: a missing or unexpected name, or a wrong
shape, is an error naming the tensor and its file. The vision layers after `vision_feature_layer` and CLIP's
post_layernorm are the only tensors left out, by design (LLaVA reads the penultimate layer's output).

The resolution is fixed per bundle and must be one of the checkpoint's image_grid_pinpoints (672x672,
336x672, 672x336, 1008x336, 336x1008 for LLaVA-v1.6): anyres then needs no unpadding and T is constant
(672x672: 2,928 visual tokens; 336x672: 1,752). emotune resizes every image to it, as Qwen2-VL's bundles do.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch  # noqa: E402

from emotune_vlm.exporting import CLIP_MEAN, CLIP_STD, Exporter, dump_bundle_yaml, find_token, tie_lm_head  # noqa: E402
from emotune_vlm.llava_next import TEXT_MARGIN, LlavaNextBundleModel, LlavaNextShape  # noqa: E402

# Mistral's [INST] format with LLaVA's image placeholder, "[INST] <image>\n{question} [/INST] {answer}</s>", in the
# pieces of emotune's ChatTemplate (csrc/vlm/bundle_spec.h): no system turn, the image's features where <image>
# stands, the answer's leading space from the tokenizer's "▁" prefix.
MISTRAL_CHAT = {"system_start": "", "user_start": "[INST] ", "assistant_start": "", "end_of_turn": "</s>",
                "turn_separator": "", "image_open": "", "image_close": "\n", "user_end": " [/INST]"}
TEMPLATE_FILES = ("chat_template.json", "processor_config.json", "tokenizer_config.json")
EXPORT = Exporter("export_llava_next")
fail = EXPORT.fail


def unused_tensor(shape: LlavaNextShape):
    """Checkpoint tensors LLaVA never reads: CLIP layers after the feature layer, and its post_layernorm."""
    after = tuple(f"vision_tower.vision_model.encoder.layers.{i}." for i in range(shape.feature_layers, shape.vision_layers))

    def unused(name: str) -> bool:
        return name.startswith(after) or name.startswith("vision_tower.vision_model.post_layernorm.")
    return unused


def chat_template(hf_dir: str) -> str:
    """Where the checkpoint states its chat template, it must be Mistral's [INST] format with an <image>
    placeholder (the only one emotune maps for LLaVA-NeXT); returns where it was found, or "" for none."""
    for name in TEMPLATE_FILES:
        path = os.path.join(hf_dir, name)
        template = EXPORT.read_json(path, required=False).get("chat_template")
        if not template:
            continue
        if not isinstance(template, str) or "[INST]" not in template or "[/INST]" not in template or "<image>" not in template:
            fail(f"{path}: chat_template is not Mistral's [INST] ... [/INST] format with an <image> placeholder, the one "
                 f"emotune lays out for LLaVA-NeXT (docs/models.md)")
        return path
    return ""


def bundle_yaml(args, shape: LlavaNextShape, pad: int, eos: int, mean, std, template_source: str) -> str:
    spec = {
        "format_version": 1, "name": args.name, "backend": "torchscript", "model_file": "vlm.pt",
        "hidden_size": shape.hidden, "vocab_size": shape.vocab,
        "image": {"height": shape.image_height, "width": shape.image_width, "mean": [float(x) for x in mean],
                  "std": [float(x) for x in std], "visual_tokens": shape.visual_tokens},
        "positions": {"kind": "plain"},
        "tokenizer": {"kind": "bpe", "file": "tokenizer.json"},
        "chat_template": dict(MISTRAL_CHAT),
        "special_tokens": {"pad": pad, "eos": eos},
    }
    header = (f"# emotune VLM bundle (docs/bundle.md), written by scripts/export/export_llava_next.py from\n"
              f"# {os.path.abspath(args.hf_dir)}\n"
              f"# anyres at the pinpoint {shape.image_height}x{shape.image_width}: {shape.grid_h}x{shape.grid_w} tiles of "
              f"{shape.tile} px and a base view (the whole image resized to {shape.tile}x{shape.tile}, antialiased\n"
              f"# bicubic inside encode_image), {shape.side}x{shape.side} features each, image_newline per row: "
              f"T = {shape.visual_tokens}\n"
              f"# chat format: Mistral's [INST] <image>\\n... [/INST] "
              f"({'as ' + template_source + ' states' if template_source else 'LLaVA-v1.6-Mistral; the checkpoint states none'})\n")
    return dump_bundle_yaml(spec, header)


def check_sliding_window(shape: LlavaNextShape, path: str) -> None:
    """Mistral's sliding window is full attention for sequences no longer than it; refuse one that emotune's
    sequences (T visual tokens and up to TEXT_MARGIN text positions) could exceed."""
    window = shape.sliding_window
    if window is not None and int(window) < shape.visual_tokens + TEXT_MARGIN:
        fail(f"{path}: text_config.sliding_window is {window}, shorter than the {shape.visual_tokens} visual tokens "
             f"plus {TEXT_MARGIN} text positions of the sequences emotune builds at this resolution; the bundle "
             f"attends over whole sequences, so it would not compute what the checkpoint does (choose a smaller "
             f"--image-size, or set sliding_window: null if the checkpoint was trained without one)")


def main():
    args = EXPORT.arguments(__doc__, "672x672", "HxW, one of the checkpoint's image_grid_pinpoints")
    started = time.time()
    config_path = os.path.join(args.hf_dir, "config.json")
    config = EXPORT.read_json(config_path)
    if config.get("model_type") != "llava_next":
        fail(f"{config_path}: model_type is {config.get('model_type')!r}, expected 'llava_next'")
    height, width = EXPORT.parse_size(args.image_size, "672x672")
    try:
        shape = LlavaNextShape(config, height, width)
    except (KeyError, ValueError) as e:
        fail(f"{config_path}: {str(e).strip(chr(34) + chr(39))}")
    check_sliding_window(shape, config_path)
    args.name = args.name or f"{os.path.basename(os.path.normpath(args.hf_dir))}-{height}x{width}"
    tok_path = os.path.join(args.hf_dir, "tokenizer.json")
    tokenizer = EXPORT.read_json(tok_path)
    why = "LLaVA-NeXT-Mistral's chat template needs it"
    eos = EXPORT.token_id(tokenizer, "</s>", tok_path, why)
    EXPORT.token_id(tokenizer, "<s>", tok_path, why)
    pad = find_token(tokenizer, "<pad>")  # LLaVA adds one; else padding is </s>, masked out either way
    pad = eos if pad is None else pad
    pre = EXPORT.read_json(os.path.join(args.hf_dir, "preprocessor_config.json"), required=False)

    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model = LlavaNextBundleModel(shape, device=torch.device("meta"))

    nbytes = EXPORT.load_weights(model, args.hf_dir, dtype, "LLaVA-NeXT", unused=unused_tensor(shape), tie=tie_lm_head(model.language_model, shape.tied, "language_model.lm_head.weight"))
    text = bundle_yaml(args, shape, pad, eos, pre.get("image_mean", CLIP_MEAN), pre.get("image_std", CLIP_STD),
                       chat_template(args.hf_dir))
    EXPORT.write_bundle(args.out_dir, model, tok_path, text,
                        f"{args.hf_dir} -> {args.out_dir}: {nbytes / 2**20:.1f} MiB of weights read, {shape.visual_tokens} "
                        f"visual tokens at {height}x{width}, {args.dtype}, {time.time() - started:.1f} s")

if __name__ == "__main__":
    main()
