#!/usr/bin/python3
"""Pretrains emotune's embedded default VLM on the affect world and writes it as a bundle (docs/bundle.md).

Recipe (seeded, logged to <out>/pretrain.log):
  1. `emotune synth` renders a pretraining world (its own seed, disjoint from the quickstart's world).
  2. spm_train builds the tokenizer from the world's text, the question templates emotune ships
     (`emotune info --print-config`), and the label names of the common benchmark label sets (so emotion
     words exist in the vocabulary).
  3. The TinyVLM of emotune_vlm/tiny_vlm.py (vision tower, merger, decoder) trains from scratch on
     aspect question/answer pairs (every template, every aspect) and captions of the world's images, in
     emotune's chat template. It never sees an emotion label as an answer.
     Augmentation: with probability `pool_prob` the image span holds 1, 2 or 4 mean-pooled visual tokens
     instead of all T, so the LM also learns to read a few summary tokens (what MASP's aspect modules feed it).
     In-context mapping tasks: "<rules> Which word does the scene of the image mean?" where the rules assign
     every value of one aspect a random word of the vocabulary ("beach means stone. forest means awe. ...").
     The assignment is drawn afresh for every example, so it carries no information about the world's
     emotions; it teaches the LM to produce any word and to follow rules placed in its context, the role a
     soft prompt takes in MASP stage 2 (prompt tuning needs a steerable LM, which large VLMs are by pretraining
     and a 4-layer model trained on aspect answers alone is not).
  4. The scripted model, tokenizer and bundle.yaml are written to <out>.
Run with Debian's /usr/bin/python3 (python3-torch, python3-opencv, python3-yaml)."""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cv2  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402

from emotune_vlm.corpus import corpus_lines  # noqa: E402
from emotune_vlm.tiny_vlm import TinyVLM, TinyVLMConfig, script  # noqa: E402
from make_tiny_bundle import bundle_yaml, piece_ids, train_tokenizer  # noqa: E402

SYSTEM = "You are a helpful assistant."
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
CAPTION_QUESTIONS = ["Describe the image.", "What does this picture show?", "Give a short caption for the image."]
MAPPED_ASPECTS = {"scene": "scene", "brightness": "brightness", "colorfulness": "colorfulness", "object": "first object"}


def bin_name(v):
    return ["very low", "low", "moderate", "high", "very high"][min(4, int(v / 0.2 + 1e-9))]


def aspect_answer(value):
    if isinstance(value, (int, float)):
        return bin_name(float(value))
    if isinstance(value, list):
        return ", ".join(str(x).replace("_", " ").lower() for x in value)
    return str(value).replace("_", " ").lower()


def caption(aspects):
    parts = []
    if "scene" in aspects:
        parts.append(f"a {aspect_answer(aspects['scene'])} scene")
    if "object" in aspects:
        parts.append("with " + " and ".join(aspects["object"]))
    text = " ".join(parts)
    if "facial_expression" in aspects:
        text += f", a {aspect_answer(aspects['facial_expression'])} face"
    if "human_action" in aspects:
        text += f", a person {aspect_answer(aspects['human_action'])}"
    text += f". brightness {aspect_answer(aspects['brightness'])}, colorfulness {aspect_answer(aspects['colorfulness'])}."
    return text


def load_world(emotune, out, images, seed):
    subprocess.run([emotune, "synth", "--out", out, "--images", str(images), "--seed", str(seed), "--size", "64"],
                   check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(out, "manifest.jsonl"))]
    pixels = []
    for r in rows:
        img = cv2.imread(os.path.join(out, r["image"]), cv2.IMREAD_COLOR)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype("float32") / 255.0
        pixels.append(torch.from_numpy(img).permute(2, 0, 1))
    px = torch.stack(pixels)
    px = (px - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return rows, px


class Encoder:
    """Token ids as emotune's C++ tokenizer produces them. Debian has no sentencepiece Python binding, so
    spm_encode encodes everything in one call. It reads line by line; a newline is never inside a piece (the
    training text has none, so it is always the byte-fallback token <0x0A>), hence encoding the segments
    between newlines and joining them with <0x0A> gives the ids of the whole string."""

    def __init__(self, model_path, newline_id):
        self.model_path = model_path
        self.newline_id = newline_id
        self.cache = {}

    def _encode_lines(self, lines):
        pending = sorted({t for t in lines if t not in self.cache})
        if pending:
            res = subprocess.run(["spm_encode", f"--model={self.model_path}", "--output_format=id"],
                                 input=("\n".join(pending) + "\n").encode(), stdout=subprocess.PIPE, check=True)
            for t, line in zip(pending, res.stdout.decode().split("\n")):
                self.cache[t] = [int(x) for x in line.split()]

    def encode_many(self, texts):
        self._encode_lines([seg for t in texts for seg in t.split("\n") if seg])
        out = []
        for t in texts:
            ids = []
            for k, seg in enumerate(t.split("\n")):
                if k:
                    ids.append(self.newline_id)
                if seg:
                    ids.extend(self.cache[seg])
            out.append(ids)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--emotune", default="build/emotune")
    ap.add_argument("--out", default="models/tiny")
    ap.add_argument("--work", default="data/generated/pretrain")
    ap.add_argument("--images", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of the training loop")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--pool-prob", type=float, default=0.35)
    ap.add_argument("--mapping-per-image", type=int, default=0,
                    help="in-context mapping examples per image (0: off, the committed models/tiny recipe)")
    ap.add_argument("--steps", type=int, default=0,
                    help="a step budget instead of --minutes (the schedule then follows steps; reproducible on any CPU)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "pretrain.log"), "w")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    say(f"args: {vars(args)}")
    cfg_yaml = subprocess.run([args.emotune, "info", "--print-config"], stdout=subprocess.PIPE, check=True).stdout
    questions = yaml.safe_load(cfg_yaml)["masp"]["questions"]
    rows, pixels = load_world(args.emotune, args.work, args.images, args.seed)
    say(f"world: {len(rows)} images in {args.work}")

    # Examples: (image index, question, answer). Emotion labels are never answers.
    examples = []
    for i, r in enumerate(rows):
        for aspect, value in r["aspects"].items():
            for q in questions.get(aspect, []):
                examples.append((i, q, aspect_answer(value)))
        for q in CAPTION_QUESTIONS:
            examples.append((i, q, caption(r["aspects"])))
    values = {a: sorted({aspect_answer(r["aspects"][a][:1] if a == "object" else r["aspects"][a]) for r in rows})
              for a in MAPPED_ASPECTS}
    words = sorted({w for line in corpus_lines() for w in line.replace(",", " ").replace(".", " ").replace("?", " ").split()
                    if w.isalpha() and len(w) > 2} | {a for _, _, a in examples if " " not in a and "," not in a})
    rng = random.Random(args.seed + 1)
    for i, r in enumerate(rows):
        for _ in range(args.mapping_per_image):
            aspect = rng.choice(sorted(MAPPED_ASPECTS))
            vals = values[aspect][:]
            targets = rng.sample(words, len(vals))
            rng.shuffle(vals)
            mapping = dict(zip(vals, targets))
            rules = " ".join(f"{v} means {mapping[v]}." for v in vals)
            truth = aspect_answer(r["aspects"][aspect][:1] if aspect == "object" else r["aspects"][aspect])
            examples.append((i, f"{rules} Which word does the {MAPPED_ASPECTS[aspect]} of the image mean?", mapping[truth]))
    lines = corpus_lines() + [q for qs in questions.values() for q in qs] + CAPTION_QUESTIONS
    lines += sorted({a for _, _, a in examples})
    if args.mapping_per_image:
        lines += words + [f"{v} means {w}." for a in MAPPED_ASPECTS for v in values[a] for w in words[:3]]
    vocab = train_tokenizer(args.out, lines, 1024)
    say(f"tokenizer: {vocab} pieces, {len(examples)} examples")
    ids = piece_ids(args.out)
    enc = Encoder(os.path.join(args.out, "tokenizer.model"), ids["<0x0A>"])
    eot = ids["<|im_end|>"]
    prefix = enc.encode_many([f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<|vision_start|>"])[0]
    q_ids = dict(zip(sorted({q for _, q, _ in examples}),
                     enc.encode_many([f"<|vision_end|>{q}<|im_end|>\n<|im_start|>assistant\n" for q in sorted({q for _, q, _ in examples})])))
    a_ids = dict(zip(sorted({a for _, _, a in examples}), enc.encode_many(sorted({a for _, _, a in examples}))))

    cfg = TinyVLMConfig(vocab_size=vocab, image_size=64, patch_size=8, merge=2, vision_dim=96, vision_layers=3,
                        vision_heads=4, hidden_size=128, lm_layers=4, lm_heads=4, mlp_ratio=3)
    model = TinyVLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    say(f"model: {sum(p.numel() for p in model.parameters())} parameters, config {cfg.to_dict()}")
    prefix_t = torch.tensor(prefix)
    start = time.time()
    step = 0
    order = list(range(len(examples)))
    random.shuffle(order)
    cursor = 0
    avg = None
    while True:
        elapsed = time.time() - start
        if (args.steps and step >= args.steps) or (not args.steps and elapsed > args.minutes * 60):
            break
        if cursor + args.batch > len(order):
            random.shuffle(order)
            cursor = 0
        batch = [examples[j] for j in order[cursor:cursor + args.batch]]
        cursor += args.batch
        img = pixels[[b[0] for b in batch]]
        visual = model.encode_image(img)
        if random.random() < args.pool_prob:
            k = random.choice([1, 2, 4])
            perm = torch.randperm(visual.shape[1])
            visual = torch.stack([visual[:, perm[g::k]].mean(1) for g in range(k)], 1)
        tails = [q_ids[q] + a_ids[a] + [eot] for _, q, a in batch]
        n_ans = [len(a_ids[a]) + 1 for _, _, a in batch]
        width = max(len(t) for t in tails)
        tail = torch.full((len(batch), width), ids["<pad>"], dtype=torch.long)
        tmask = torch.zeros(len(batch), width, dtype=torch.long)
        target = torch.full((len(batch), width), -100, dtype=torch.long)
        for b, t in enumerate(tails):
            tail[b, :len(t)] = torch.tensor(t)
            tmask[b, :len(t)] = 1
            target[b, len(t) - n_ans[b]:len(t)] = torch.tensor(t[len(t) - n_ans[b]:])
        B = len(batch)
        emb = torch.cat([model.embed_tokens(prefix_t.expand(B, -1)), visual, model.embed_tokens(tail)], 1)
        mask = torch.cat([torch.ones(B, len(prefix) + visual.shape[1], dtype=torch.long), tmask], 1)
        full_target = torch.cat([torch.full((B, len(prefix) + visual.shape[1]), -100, dtype=torch.long), target], 1)
        hidden = model.hidden_states(emb, mask)
        sel = full_target[:, 1:] != -100
        logits = model.project_logits(hidden[:, :-1][sel])
        loss = F.cross_entropy(logits, full_target[:, 1:][sel])
        # Cosine decay over the time budget (the step count is only known approximately in advance).
        frac = step / args.steps if args.steps else min(1.0, elapsed / (args.minutes * 60))
        lr = args.lr * min(1.0, (step + 1) / 200) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        step += 1
        if step % 100 == 0:
            say(f"step {step} loss {avg:.4f} lr {lr:.2e} elapsed {elapsed / 60:.1f} min "
                f"({step * args.batch / max(elapsed, 1e-9):.0f} examples/s)")
    say(f"done: {step} steps, {step * args.batch} examples, final loss {avg:.4f}, {(time.time() - start) / 60:.1f} min")
    model.eval()
    with open(os.path.join(args.out, "architecture.yaml"), "w") as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False)
    script(model).save(os.path.join(args.out, "vlm.pt"))
    with open(os.path.join(args.out, "bundle.yaml"), "w") as f:
        f.write(bundle_yaml("tiny-affect-world", cfg, ids))
    say(f"bundle written to {args.out}")


if __name__ == "__main__":
    main()
