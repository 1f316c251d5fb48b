"""What every exporter of a Hugging Face checkpoint into an emotune bundle does alike (scripts/export/export_*.py):
reading config and tokenizer JSON, loading every checkpoint tensor into the bundle module by name with strict name
and shape checks, and writing vlm.pt, tokenizer.json and bundle.yaml atomically. Errors end the program with a
message naming the file and what was expected, never a traceback."""
import argparse
import json
import os
import shutil
from typing import Callable, Optional, Set

import torch
import yaml

from .safetensors_io import open_checkpoint

# CLIP's image normalisation, the default of both architectures' preprocessor_config.json.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def tie_lm_head(lm: torch.nn.Module, tied: bool, name: str):
    """load_weights' `tie` for a CausalLM `lm` whose config says tie_word_embeddings: when the checkpoint has no
    head `name` of its own, the head is the embedding."""
    def tie(loaded: Set[str]) -> Optional[str]:
        if not tied or name in loaded:
            return None
        lm.lm_head.weight = lm.model.embed_tokens.weight
        return name
    return tie


class Exporter:
    """One export run; `program` prefixes every error message."""

    def __init__(self, program: str):
        self.program = program

    def arguments(self, doc: str, default_size: str, size_help: str) -> argparse.Namespace:
        """HF_DIR OUT_DIR [--image-size HxW] [--dtype bf16|fp32] [--name NAME], every exporter's command line."""
        ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
        ap.add_argument("hf_dir")
        ap.add_argument("out_dir")
        ap.add_argument("--image-size", default=default_size, help=size_help)
        ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16",
                        help="weights in vlm.pt (emotune's `precision` may still run a bf16 bundle in fp32)")
        ap.add_argument("--name", help="the bundle's name (default: the checkpoint folder's name and the size)")
        return ap.parse_args()

    def fail(self, message: str):
        raise SystemExit(f"{self.program}: error: {message}")

    def read_json(self, path: str, required: bool = True) -> dict:
        if not os.path.exists(path):
            if required:
                self.fail(f"{path} not found")
            return {}
        with open(path, encoding="utf-8") as f:
            try:
                return json.load(f)
            except ValueError as e:
                self.fail(f"{path}: not valid JSON ({e})")

    def parse_size(self, text: str, example: str):
        try:
            h, w = (int(x) for x in text.lower().split("x"))
            return h, w
        except ValueError:
            self.fail(f"--image-size '{text}': expected HxW, e.g. {example}")

    def token_id(self, tokenizer: dict, content: str, path: str, why: str) -> int:
        found = find_token(tokenizer, content)
        if found is None:
            self.fail(f"{path}: token '{content}' not found ({why})")
        return found

    def load_weights(self, model: torch.nn.Module, hf_dir: str, dtype: torch.dtype, architecture: str,
                     unused: Optional[Callable[[str], bool]] = None,
                     tie: Optional[Callable[[Set[str]], Optional[str]]] = None) -> int:
        """Loads every checkpoint tensor into the module by name; returns the number of bytes read.

        unused(name): a checkpoint tensor the bundle does not need by design (e.g. vision layers after the
        feature layer), skipped without reading. tied(): called when the checkpoint has no LM head of its own
        (tie_word_embeddings); it ties the head and returns its name."""
        expected = dict(model.named_parameters())
        loaded, nbytes = set(), 0
        try:
            for name, f in open_checkpoint(hf_dir):
                if unused is not None and unused(name):
                    continue
                if name not in expected:
                    self.fail(f"{f.path}: unexpected tensor '{name}' (not part of {architecture} as emotune exports it)")
                if list(f.shape(name)) != list(expected[name].shape):
                    self.fail(f"{f.path}: tensor '{name}' has shape {list(f.shape(name))}, config.json implies "
                              f"{list(expected[name].shape)}")
                t = f.tensor(name)
                nbytes += t.numel() * t.element_size()
                *path, leaf = name.split(".")
                setattr(model.get_submodule(".".join(path)), leaf, torch.nn.Parameter(t.to(dtype), requires_grad=False))
                loaded.add(name)
        except (KeyError, ValueError) as e:
            self.fail(str(e).strip("'\""))
        tied = tie(loaded) if tie is not None else None
        if tied is not None:
            loaded.add(tied)
        missing = sorted(set(expected) - loaded)
        if missing:
            self.fail(f"{hf_dir}: the checkpoint lacks {len(missing)} tensor(s) the model needs, e.g. {missing[:5]}")
        return nbytes

    def write_bundle(self, out_dir: str, model: torch.nn.Module, tokenizer_path: str, bundle_yaml: str,
                     summary: str = "") -> None:
        """vlm.pt (TorchScript of `model`), the tokenizer file and bundle.yaml, each written to a temporary name
        and renamed, so an interrupted export never leaves a half-written file under the final name."""
        model.eval()
        scripted = torch.jit.script(model)
        os.makedirs(out_dir, exist_ok=True)
        tmp = os.path.join(out_dir, "vlm.pt.tmp")
        scripted.save(tmp)
        os.replace(tmp, os.path.join(out_dir, "vlm.pt"))
        name = os.path.basename(tokenizer_path)
        shutil.copyfile(tokenizer_path, os.path.join(out_dir, name + ".tmp"))
        os.replace(os.path.join(out_dir, name + ".tmp"), os.path.join(out_dir, name))
        with open(os.path.join(out_dir, "bundle.yaml.tmp"), "w", encoding="utf-8") as f:
            f.write(bundle_yaml)
        os.replace(os.path.join(out_dir, "bundle.yaml.tmp"), os.path.join(out_dir, "bundle.yaml"))
        if summary:
            print(f"{self.program}: {summary}")


def find_token(tokenizer: dict, content: str) -> Optional[int]:
    """The id of `content` in a tokenizer.json: an added token, else a vocabulary piece; None when absent."""
    for t in tokenizer.get("added_tokens", []):
        if t.get("content") == content:
            return int(t["id"])
    vocab = (tokenizer.get("model") or {}).get("vocab") or {}
    if isinstance(vocab, dict) and content in vocab:
        return int(vocab[content])
    return None


class BundleDumper(yaml.SafeDumper):
    """Block style, lists of numbers inline, strings with newlines double-quoted ("<|im_start|>user\\n")."""


BundleDumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"' if "\n" in s else None))
BundleDumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def dump_bundle_yaml(spec: dict, header: str) -> str:
    return header + yaml.dump(spec, Dumper=BundleDumper, sort_keys=False, allow_unicode=True, width=120)


def save_fixture_checkpoint(model, out_root: str, name: str):
    """A golden generator's model (a Hugging Face PreTrainedModel) saved fresh into OUT_ROOT/NAME/hf with
    save_pretrained; returns (OUT_ROOT/NAME, its hf folder)."""
    root = os.path.join(out_root, name)
    hf_dir = os.path.join(root, "hf")
    if os.path.exists(hf_dir):
        shutil.rmtree(hf_dir)
    model.save_pretrained(hf_dir, safe_serialization=True)
    return root, hf_dir
