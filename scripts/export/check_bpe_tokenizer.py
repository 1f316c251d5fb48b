"""Token-id parity of emotune's C++ byte-level BPE tokenizer with Hugging Face's tokenizers library (issue 6).

Runs where `tokenizers` is installed (the GPU machine); no weights needed, only a tokenizer.json:

  python3 scripts/export/check_bpe_tokenizer.py --tokenizer /path/to/Qwen2-VL-7B-Instruct/tokenizer.json \
      --emotune build/emotune --count 3000

Strings: ASCII prose, numbers, code, whitespace runs and newlines, contractions, accents (composed and
decomposed), CJK, emoji, the chat markers, and random Unicode; each is encoded by both without adding
special tokens, and every difference is printed. Exit status 1 on any difference.

Where no real tokenizer.json is at hand (no weights, no hub), --train-qwen2-like builds one with `tokenizers`:
Qwen2's normalizer (NFC), pre-tokenizer (its Split regex, isolated, then ByteLevel without prefix space or
regex), decoder and chat tokens, with a BPE vocabulary trained on a corpus of another seed. When `tokenizers`
and emotune live on different machines (the GPU machine has the one, the CI machines the other), write the
library's ids on the first and compare on the second:

  python3 scripts/export/check_bpe_tokenizer.py --train-qwen2-like tok.json --write-expected ids.jsonl   (GPU machine)
  /usr/bin/python3 scripts/export/check_bpe_tokenizer.py --tokenizer tok.json --expected ids.jsonl      (here)
"""
import argparse
import json
import random
import subprocess
import sys


def corpus(count, seed):
    rng = random.Random(seed)
    fixed = ["Which emotion does this image most strongly evoke?", "It's a sunny day; they'll go.", "I'M HERE", "x = 3.14159 * r**2",
             "  leading spaces", "trailing spaces   ", "tabs\tand\nnewlines\r\n\n", "<|im_start|>user\nhi<|im_end|>",
             "e\u0301 vs \u00e9", "日本語のテキスト", "emoji 😀🎉👍🏽", "1234567890", "a" * 300, "", " ", "\n\n\n",
             "naïve café résumé", "Ελληνικά и русский", "'s'S's", "don't DON'T"]
    words = ["the", "image", "awe", "fear", "joy", "amusement", "Sad", "HAPPY", "42", "3.5", "😀", "日本", "  ", "\n", "'ll", "!!", "...", "-", "é"]
    out = list(fixed)
    while len(out) < count:
        kind = rng.random()
        if kind < 0.5:
            out.append("".join(rng.choice(words) + rng.choice(["", " ", "  ", "\n"]) for _ in range(rng.randint(1, 20))))
        else:
            cps = []
            for _ in range(rng.randint(1, 30)):
                c = rng.choice([rng.randint(32, 126), rng.randint(160, 0x2FF), rng.randint(0x400, 0x4FF), rng.randint(0x3040, 0x30FF),
                                rng.randint(0x4E00, 0x9FFF), rng.randint(0x1F300, 0x1F64F), 10, 32])
                cps.append(chr(c))
            out.append("".join(cps))
    return out[:count]


QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
               r"\s+(?!\S)|\s+")
QWEN2_ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
               "<|video_pad|>"]


def train_qwen2_like(path, vocab_size, seed):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=QWEN2_ADDED, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(20000, seed), trainer)
    tok.save(path)
    print(f"trained {path}: {tok.get_vocab_size()} tokens, Qwen2's normalizer, pre-tokenizer and chat tokens")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", help="a tokenizer.json")
    ap.add_argument("--train-qwen2-like", metavar="PATH", help="train a Qwen2-style tokenizer.json here and use it")
    ap.add_argument("--vocab-size", type=int, default=4000)
    ap.add_argument("--write-expected", metavar="JSONL", help="write the tokenizers library's ids and stop")
    ap.add_argument("--expected", metavar="JSONL", help="compare against ids written by --write-expected")
    ap.add_argument("--emotune", default="build/emotune")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.train_qwen2_like:
        train_qwen2_like(args.train_qwen2_like, args.vocab_size, args.seed + 1)
        args.tokenizer = args.train_qwen2_like
    if not args.tokenizer:
        sys.exit("give --tokenizer or --train-qwen2-like")
    texts = corpus(args.count, args.seed)
    if args.expected:
        rows = [json.loads(line) for line in open(args.expected, encoding="utf-8")]
        if [r["text"] for r in rows] != texts:
            sys.exit(f"{args.expected}: written for another corpus (--count/--seed)")
        expected = [r["ids"] for r in rows]
    else:
        from tokenizers import Tokenizer  # noqa: WPS433 (only on machines that have it)
        hf = Tokenizer.from_file(args.tokenizer)
        expected = [hf.encode(text, add_special_tokens=False).ids for text in texts]
    if args.write_expected:
        with open(args.write_expected, "w", encoding="utf-8") as out:
            for text, ids in zip(texts, expected):
                out.write(json.dumps({"text": text, "ids": ids}) + "\n")
        print(f"wrote {args.write_expected}: {len(texts)} strings")
        return
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    run = subprocess.run([args.emotune, "tokenize", "--tokenizer", args.tokenizer], input=stdin, capture_output=True, text=True, check=True)
    ours = [json.loads(line) for line in run.stdout.splitlines()]
    differ = 0
    for text, mine, theirs in zip(texts, ours, expected):
        if mine != theirs:
            differ += 1
            if differ <= 20:
                print(f"DIFF {json.dumps(text)}\n  emotune    {mine}\n  tokenizers {theirs}")
    print(f"{len(texts)} strings, {differ} differ")
    sys.exit(1 if differ or len(ours) != len(texts) else 0)


if __name__ == "__main__":
    main()
