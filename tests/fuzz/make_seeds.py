#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/corpus/<target>/seed_*): small valid examples of
each format, from which libFuzzer mutates. Inputs fuzzing found are added beside them (scripts/fuzz.sh keeps
the minimised corpus). Run with Debian's /usr/bin/python3 from the repository root."""
import io
import json
import os
import struct

import sys

from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import make_tiny_bundle  # noqa: E402
from emotune_vlm.tiny_vlm import TinyVLMConfig  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, "seed_" + name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def bytes_to_unicode():  # GPT-2's printable stand-ins for bytes
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tokenizer_json():
    chars = bytes_to_unicode()
    vocab = {chars[b]: b for b in range(256)}
    merges = []
    for word in ["Ġthe", "Ġimage", "Ġaw", "Ġawe", "in", "ing", "er", "Ġis"]:
        for i in range(2, len(word) + 1):
            piece = word[:i]
            if piece not in vocab:
                merges.append(word[: i - 1] + " " + word[i - 1])
                vocab[piece] = len(vocab)
    added = [{"id": len(vocab) + i, "content": t, "special": True} for i, t in enumerate(["<|im_start|>", "<|im_end|>"])]
    pattern = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    return json.dumps({"added_tokens": added, "normalizer": {"type": "NFC"},
                       "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                           {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated"},
                           {"type": "ByteLevel", "add_prefix_space": False}]},
                       "model": {"type": "BPE", "vocab": vocab, "merges": merges}}, ensure_ascii=False)


def sentencepiece_json(metaspace):
    """SentencePiece-style BPE (LLaMA, Mistral): byte fallback, "▁" for spaces, through the older normalizer
    or, with `metaspace`, a Metaspace pre-tokenizer and decoder."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{"<0x%02X>" % b: 3 + b for b in range(256)}}
    merges = []
    for word in ["▁the", "▁image", "▁aw", "▁awe", "in", "ing", "er", "▁is"]:
        for piece in word:
            vocab.setdefault(piece, len(vocab))
        for i in range(2, len(word) + 1):
            if word[:i] not in vocab:
                merges.append([word[: i - 1], word[i - 1]])
                vocab[word[:i]] = len(vocab)
    added = [{"id": i, "content": t, "special": True} for i, t in enumerate(["<unk>", "<s>", "</s>"])]
    added.append({"id": len(vocab), "content": "<image>", "special": True})
    replace = {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}
    decoder = {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                                {"type": "ByteFallback"}, {"type": "Fuse"},
                                                {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    j = {"added_tokens": added,
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, replace]},
         "pre_tokenizer": None, "decoder": decoder,
         "model": {"type": "BPE", "vocab": vocab, "merges": merges, "unk_token": "<unk>", "fuse_unk": True,
                   "byte_fallback": True}}
    if metaspace:
        j["normalizer"] = None
        j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
        j["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
    return json.dumps(j, ensure_ascii=False)


def image(fmt, mode="RGB", **options):
    out = io.BytesIO()
    Image.new(mode, (7, 5), 128).save(out, fmt, **options)
    return out.getvalue()


def main():
    write("safetensors", "two_tensors", safetensors(
        {"aspect.scene.query": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), "step": ("I64", [], struct.pack("<q", 7))},
        {"emotune.stage": "aspects"}))
    write("safetensors", "empty", safetensors({}))
    write("safetensors", "bf16", safetensors({"w": ("BF16", [3], b"\x80\x3f\x00\x40\x40\x40")}))

    with open("configs/quickstart.yaml") as f:
        write("config", "quickstart", f.read() + "\0train.lr=0.001\nablation.stage1.train.epochs=1\n")
    with open("configs/personal.yaml") as f:
        write("config", "personal", f.read())
    write("config", "sections", "ablation:\n  stage1: {train: {lr: 3e-4}}\ndata: {labels: [a, b], max_image_pixels: 100}\n"
          "\0masp.aspects=[scene, object]\ndata.exif_orientation=false\n")

    rows = ['{"image": "a.jpg", "label": "awe", "split": "train", "user": "u1", "aspects": {"scene": "beach", '
            '"object": ["dog"], "brightness": 0.7}}',
            '{"image": "b.jpg", "label": "fear", "split": "test", "distribution": {"fear": 3, "awe": 1}}',
            '{"image": "a.jpg", "label": "awe", "split": "train", "user": "u1"}']
    write("manifest", "rows", "\0" + "\n".join(rows[:2]) + "\n")
    write("manifest", "duplicate_dropped", "\1" + "\n".join(rows) + "\n")
    sequence = ['{"image": "c.jpg", "split": "test", "sequence": "d1", "position": 1, "speaker": "F", "text": "Hi."}',
                '{"image": "d.jpg", "split": "test", "sequence": "d1", "position": 0}']
    write("manifest", "sequences", "\0" + "\n".join(sequence) + "\n")

    tiny = make_tiny_bundle.bundle_yaml("tiny-random", TinyVLMConfig(), {"<pad>": 3, "</s>": 2})
    write("bundle_yaml", "tiny", tiny)
    write("bundle_yaml", "mrope", tiny.replace("kind: sentencepiece\n  file: tokenizer.model", "kind: bpe\n  file: tokenizer.json")
          + "positions: {kind: mrope, image_grid: [4, 4]}\n")

    tok = tokenizer_json()
    write("bpe_tokenizer", "byte_level", tok + "\0<|im_start|>user\nIs the image awe-inspiring? 123 ünïcode<|im_end|>")
    write("bpe_tokenizer", "no_added", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
                                                             "merges": [["a", "b"]]}}) + "\0abba")
    prompt = "<s>[INST] <image>\nIs the image awe-inspiring?  123 ünïcode 日本 😀 [/INST]</s>"
    write("bpe_tokenizer", "sentencepiece", sentencepiece_json(False) + "\0" + prompt)
    write("bpe_tokenizer", "metaspace", sentencepiece_json(True) + "\0" + prompt)

    write("csv", "comma", "\0image,label,votes\n\"a, b.jpg\",awe,3\nc.jpg,\"fe\"\"ar\",4\n")
    write("csv", "tab", "\1id\tanger\tjoy\n1\t0.5\t0.5\n2\t\"x\ty\"\t1\n")
    write("csv", "single_quoted", "\2'image','label'\n'a.jpg','awe'\n'multi\nline','x'\n")

    write("image_size", "png", image("PNG"))
    write("image_size", "jpeg", image("JPEG"))
    write("image_size", "jpeg_gray", image("JPEG", "L"))
    write("image_size", "bmp", image("BMP"))
    write("image_size", "webp_lossy", image("WEBP", quality=50))
    write("image_size", "webp_lossless", image("WEBP", lossless=True))


if __name__ == "__main__":
    main()
