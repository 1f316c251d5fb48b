#!/usr/bin/python3
"""Image-lookup probe of a tiny-VLM bundle (ad hoc, 2026-11-23 session 8).

The skill MASP's stage 2 needs from the frozen LM: answer with the word its context ties to what the image shows.
This writes, after the image, a word table in the *pretraining* tokenization (scripts/pretrain_tiny_vlm.py's
lookups: "<key>: " + word + ". " encoded piece by piece) mapping every value of one aspect to a distinct random
word of the pretraining vocabulary, asks "Which word goes with this image?", ranks the table's words by
log-likelihood (answer pieces + end of turn) and reports how often the word of the value the image shows ranks
first, averaged over three random word draws. Chance is 1 / (number of values). A QUESTION may name the aspect
with {aspect} ("Which word does the table give for the {aspect} in the image?", the lookups of
--lookup-aspect-share) and the shown value with {key} ("What word does the table give for {key}?": a text
lookup, which checks the probe itself). QUESTION "{recall}" asks nothing: the table goes on with the shown value's
key and its colon ("... beach: "), as the recall lookups of --lookup-recall-share, and the answer is scored there.
Usage: docs/experiments/lookup-probe.py BUNDLE MANIFEST [SPLIT] [QUESTION]"""
import json
import os
import random
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from emotune_vlm.corpus import corpus_words  # noqa: E402
from make_tiny_bundle import piece_ids  # noqa: E402
from emotune_vlm.encoder import Encoder  # noqa: E402
from pretrain_tiny_vlm import ASPECT_PHRASES, SYSTEM, load_pixels, table_key  # noqa: E402

bundle, manifest = sys.argv[1:3]
split = sys.argv[3] if len(sys.argv) > 3 else "test"
question = sys.argv[4] if len(sys.argv) > 4 else "Which word goes with this image?"
model = torch.jit.load(os.path.join(bundle, "vlm.pt")).eval()
ids = piece_ids(bundle)
enc = Encoder(os.path.join(bundle, "tokenizer.model"), ids["<0x0A>"])
eot = ids["<|im_end|>"]
prefix = torch.tensor(enc.encode_many([f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<|vision_start|>"])[0])
turn_end = enc.encode_many(["<|im_end|>\n<|im_start|>assistant\n"])[0]
separator = enc.encode_many([". "])[0]
vocab_words = corpus_words()
with open(os.path.join(os.path.dirname(manifest), "world.json")) as f:
    world = json.load(f)
rows = [json.loads(line) for line in open(manifest)]
rows = [r for r in rows if r["split"] == split]
with torch.no_grad():
    visual = model.encode_image(load_pixels(os.path.dirname(manifest), rows))


aspects = {"scene": world["scenes"], "facial_expression": world["facial_expressions"],
           "human_action": world["human_actions"],
           "brightness": [0.0, 0.2, 0.4, 0.6, 0.8], "colorfulness": [0.0, 0.2, 0.4, 0.6, 0.8]}
for aspect, values in aspects.items():
    keys = [table_key(aspect, v) for v in values]
    keep = [i for i, r in enumerate(rows) if aspect in r["aspects"]]
    shown = [keys.index(table_key(aspect, rows[i]["aspects"][aspect])) for i in keep]
    accuracy = []
    for draw in range(3):
        words = random.Random(draw).sample(vocab_words, len(keys))
        table = [ids["<|vision_end|>"]]
        for k, w in zip(keys, words):
            table += enc.encode_many([f"{k}: "])[0] + enc.encode_many([w])[0] + separator
        answers = enc.encode_many(words)
        hits = 0
        # One question for all images, or with {key} the shown value's own (a text lookup: the probe's check).
        by_key = "{key}" in question or question == "{recall}"
        groups = [(v, [j for j, s in enumerate(shown) if s == v]) for v in range(len(keys))] if by_key \
            else [(None, list(range(len(keep))))]
        for v, members in groups:
            if not members:
                continue
            text = question.replace("{aspect}", ASPECT_PHRASES[aspect]).replace("{key}", keys[v] if v is not None else "")
            if question == "{recall}":
                tail = table + enc.encode_many([f"{keys[v]}: "])[0]
            else:
                tail = table + enc.encode_many([" " + text])[0] + turn_end
            B = len(members)
            scores = torch.zeros(B, len(words))
            with torch.no_grad():
                for j, a in enumerate(answers):
                    seq = torch.tensor(tail + a + [eot])
                    emb = torch.cat([model.embed_tokens(prefix).expand(B, -1, -1), visual[[keep[m] for m in members]],
                                     model.embed_tokens(seq).expand(B, -1, -1)], 1)
                    hidden = model.hidden_states(emb, torch.ones(B, emb.shape[1], dtype=torch.long))
                    n = len(a) + 1
                    logp = F.log_softmax(model.project_logits(hidden[:, -n - 1:-1]), -1)
                    scores[:, j] = logp.gather(2, torch.tensor(a + [eot]).view(1, n, 1).expand(B, n, 1)).sum((1, 2))
            hits += (scores.argmax(1) == torch.tensor([shown[m] for m in members])).sum().item()
        accuracy.append(100.0 * hits / len(keep))
    print(f"{aspect:18s} {sum(accuracy) / 3:5.1f}%  (chance {100 / len(keys):.0f}%, {len(keep)} images, draws "
          + " ".join(f"{a:.1f}" for a in accuracy) + ")", flush=True)
