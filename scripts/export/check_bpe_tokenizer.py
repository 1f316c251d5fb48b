"""Token-id parity of emotune's C++ byte-level BPE tokenizer with Hugging Face's tokenizers library (issue 6).

Runs where `tokenizers` is installed (the GPU machine); no weights needed, only a tokenizer.json:

  python3 scripts/export/check_bpe_tokenizer.py --tokenizer /path/to/Qwen2-VL-7B-Instruct/tokenizer.json \
      --emotune build/emotune --count 3000

Strings: ASCII prose, numbers, code, whitespace runs and newlines, contractions, accents (composed and
decomposed), CJK, emoji, the chat markers, and random Unicode; each is encoded by both without adding
special tokens, and every difference is printed. Exit status 1 on any difference.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--emotune", default="build/emotune")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from tokenizers import Tokenizer  # noqa: WPS433 (only on machines that have it)
    hf = Tokenizer.from_file(args.tokenizer)
    texts = corpus(args.count, args.seed)
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    run = subprocess.run([args.emotune, "tokenize", "--tokenizer", args.tokenizer], input=stdin, capture_output=True, text=True, check=True)
    ours = [json.loads(line) for line in run.stdout.splitlines()]
    differ = 0
    for text, mine in zip(texts, ours):
        theirs = hf.encode(text, add_special_tokens=False).ids
        if mine != theirs:
            differ += 1
            if differ <= 20:
                print(f"DIFF {json.dumps(text)}\n  emotune    {mine}\n  tokenizers {theirs}")
    print(f"{len(texts)} strings, {differ} differ")
    sys.exit(1 if differ or len(ours) != len(texts) else 0)


if __name__ == "__main__":
    main()
