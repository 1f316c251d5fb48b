#!/usr/bin/python3
"""Writes a randomly initialised tiny bundle of emotune's VLM contract (docs/bundle.md):
tokenizer.model (spm_train), vlm.pt (TorchScript of emotune_vlm.tiny_vlm.TinyVLM), bundle.yaml.
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import yaml  # noqa: E402

from emotune_vlm.corpus import corpus_lines  # noqa: E402
from emotune_vlm.tiny_vlm import TinyVLM, TinyVLMConfig, script  # noqa: E402

CHAT_MARKERS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]


def train_tokenizer(out_dir: str, lines, vocab_size: int) -> int:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for _ in range(20):  # repetition gives spm enough counts on a tiny corpus
            f.write("\n".join(lines) + "\n")
        corpus = f.name
    prefix = os.path.join(out_dir, "tokenizer")
    cmd = ["spm_train", f"--input={corpus}", f"--model_prefix={prefix}", f"--vocab_size={vocab_size}",
           "--model_type=bpe", "--character_coverage=1.0", "--byte_fallback=true",
           "--normalization_rule_name=identity", "--remove_extra_whitespaces=false", "--add_dummy_prefix=false",
           "--hard_vocab_limit=false", "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=3",
           "--user_defined_symbols=" + ",".join(CHAT_MARKERS), "--num_threads=2", "--minloglevel=2"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.unlink(corpus)
    with open(prefix + ".vocab", encoding="utf-8") as v:
        return sum(1 for _ in v)


def piece_ids(out_dir: str):
    with open(os.path.join(out_dir, "tokenizer.vocab"), encoding="utf-8") as v:
        return {line.split("\t")[0]: i for i, line in enumerate(v)}


def bundle_yaml(name: str, cfg: TinyVLMConfig, ids) -> str:
    return f"""# emotune VLM bundle (docs/bundle.md)
format_version: 1
name: {name}
backend: torchscript
model_file: vlm.pt
hidden_size: {cfg.hidden_size}
vocab_size: {cfg.vocab_size}
image:
  height: {cfg.image_size}
  width: {cfg.image_size}
  mean: [0.5, 0.5, 0.5]
  std: [0.25, 0.25, 0.25]
  visual_tokens: {cfg.visual_tokens}
tokenizer:
  kind: sentencepiece
  file: tokenizer.model
chat_template:
  system_start: "<|im_start|>system\\n"
  user_start: "<|im_start|>user\\n"
  assistant_start: "<|im_start|>assistant\\n"
  end_of_turn: "<|im_end|>"
  turn_separator: "\\n"
  image_open: "<|vision_start|>"
  image_close: "<|vision_end|>"
special_tokens:
  pad: {ids["<pad>"]}
  eos: {ids["</s>"]}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--vocab-size", type=int, default=512)
    ap.add_argument("--name", default="tiny-random")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    vocab = train_tokenizer(args.out, corpus_lines(), args.vocab_size)
    torch.manual_seed(args.seed)
    cfg = TinyVLMConfig(vocab_size=vocab)
    model = TinyVLM(cfg)
    with open(os.path.join(args.out, "architecture.yaml"), "w") as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False)
    script(model).save(os.path.join(args.out, "vlm.pt"))
    with open(os.path.join(args.out, "bundle.yaml"), "w") as f:
        f.write(bundle_yaml(args.name, cfg, piece_ids(args.out)))
    print(f"tiny bundle: {args.out} (vocab {vocab}, D={cfg.hidden_size}, T={cfg.visual_tokens})")


if __name__ == "__main__":
    main()
