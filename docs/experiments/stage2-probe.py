#!/usr/bin/python3
"""What stops a soft prompt on a tiny-VLM bundle (ad hoc, 2026-11-23 session 10).

Stage 2 of MASP in Python, on the paper placement ([prefix, <|vision_start|>] [V_global] [<|vision_end|>] [P_soft]
[question, end of turn, assistant] [label]), with the loss and score of `emotune train-prompt` / `emotune eval`
(the label's cross-entropy over the vocabulary; label ranking) on the label's one piece, without the end of turn
that emotune also scores, so variants are minutes, not a rebuild:
  probe:  linear probes (logistic regression, train split -> test split) of the answer position's hidden state
          after each decoder layer, for the emotion and for each aspect: what a prompt could at best read there;
  train:  a soft prompt (Adam, batch 16, lr and epochs as given), train and test accuracy every few epochs.
  entries: a bundle pretrained with entry lookups (--lookup-entry-share; its entry_maps.pt) read as its prompt one
          entry token per aspect value of the training split, "value -> the emotion most frequent with it there"
          (a table from the training labels, the only emotion knowledge): accuracy with no training, what the
          entry skill gives stage 2 if the soft prompt finds it (train --init entries starts there).
  entry-lookup: the entry skill in its pretraining form: every value of one aspect an entry with a random
          one-piece word, "Which word goes with this image?", the table's words ranked (3 draws; test split).
  evidence: a bundle pretrained with evidence lookups (--lookup-evidence-share): fresh random tables in the
          pretraining form on the test images (does the LM pick the rule's argmax?), each aspect's world rows alone,
          and, read as its prompt, one evidence
          entry per aspect value (33), "value -> a row of weights over the 8 labels", with no training: the world's
          own table (its rows: the Bayes rule, if the LM executes it) and the rows of a logistic regression on the
          training split's annotated aspects (what the training split alone supports): does the LM apply a rule
          written in its pretraining form?
Usage: docs/experiments/stage2-probe.py BUNDLE MANIFEST probe|train|entries|entry-lookup|evidence [--lr 0.05] [--epochs 20]
       [--length 32] [--init random|entries] [--loss lm|labels] [--question TEXT] [--pool K]"""
import argparse
import json
import os
import random
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads libgomp: 2.5x faster here (docs/benchmarks.md)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402

from emotune_vlm.corpus import corpus_words  # noqa: E402
from emotune_vlm.encoder import Encoder  # noqa: E402
from emotune_vlm.entries import EntryTokens  # noqa: E402
from emotune_vlm.evidence import EvidenceLookups  # noqa: E402
from emotune_vlm.tiny_vlm import TinyVLM, TinyVLMConfig  # noqa: E402
from make_tiny_bundle import piece_ids  # noqa: E402
from pretrain_tiny_vlm import SYSTEM, aspect_answer, load_pixels, table_key  # noqa: E402

LABELS = ["amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"]
QUESTION = "Which emotion does this image most strongly evoke? Choose from: " + ", ".join(LABELS) + "."

ap = argparse.ArgumentParser()
ap.add_argument("bundle")
ap.add_argument("manifest")
ap.add_argument("mode", choices=["probe", "train", "entries", "entry-lookup", "evidence"])
ap.add_argument("--init", choices=["random", "entries"], default="random",
                help="train: the prompt starts as the entries of mode 'entries' (needs BUNDLE/entry_maps.pt)")
ap.add_argument("--lr", type=float, default=0.05)
ap.add_argument("--epochs", type=int, default=20)
ap.add_argument("--length", type=int, default=32)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--question", default=QUESTION, help="the question after the prompt ({labels}: ' amusement, awe, ...,')")
ap.add_argument("--pool", type=int, default=0,
                help="the visual tokens mean-pooled into this many (strided groups, as the pretraining's pooling)")
ap.add_argument("--loss", choices=["lm", "labels"], default="lm", help="lm: emotune's; labels: softmax over the labels only")
args = ap.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(2)

with open(os.path.join(args.bundle, "architecture.yaml")) as f:
    model = TinyVLM(TinyVLMConfig(**yaml.safe_load(f)))
model.load_state_dict(torch.jit.load(os.path.join(args.bundle, "vlm.pt")).state_dict())
model.eval().requires_grad_(False)
ids = piece_ids(args.bundle)
enc = Encoder(os.path.join(args.bundle, "tokenizer.model"), ids["<0x0A>"])
head = torch.tensor(enc.encode_many([f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<|vision_start|>"])[0])
close = torch.tensor([ids["<|vision_end|>"]])
question = args.question.replace("{labels}", "".join(f" {w}," for w in LABELS))
tail = torch.tensor(enc.encode_many([question + "<|im_end|>\n<|im_start|>assistant\n"])[0])
label_ids = torch.tensor([enc.encode_many([w])[0] for w in LABELS])
assert label_ids.shape == (len(LABELS), 1), "every label must be one piece"
label_ids = label_ids[:, 0]

rows = [json.loads(line) for line in open(args.manifest)]
base = os.path.dirname(args.manifest)


def load(split):
    rs = [r for r in rows if r["split"] == split]
    with torch.no_grad():
        visual = model.encode_image(load_pixels(base, rs))
    if args.pool:
        visual = torch.stack([visual[:, g::args.pool].mean(1) for g in range(args.pool)], 1)
    return rs, visual, torch.tensor([LABELS.index(r["label"]) for r in rs])


def run(visual, prompt, question_ids=None):
    """Hidden states at the answer position (the last context position) after each layer, and the labels'
    log-likelihoods (with question_ids instead of the emotion question: log-probabilities over the vocabulary)."""
    b = visual.shape[0]
    parts = [model.embed_tokens(head).expand(b, -1, -1), visual, model.embed_tokens(close).expand(b, -1, -1)]
    if prompt is not None:
        parts.append(prompt.expand(b, -1, -1))
    parts.append(model.embed_tokens(tail if question_ids is None else question_ids).expand(b, -1, -1))
    x = torch.cat(parts, 1)
    bias, cos, sin = model.attention_inputs(x, torch.ones(b, x.shape[1], dtype=torch.long))
    per_layer = []
    for blk in model.blocks:
        x = blk(x, bias, cos, sin)
        per_layer.append(x[:, -1])
    logp = F.log_softmax(model.project_logits(model.norm(x[:, -1])), -1)
    return per_layer, logp[:, label_ids] if question_ids is None else logp


def probe(train_x, train_y, test_x, test_y, classes):
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mu) / sd, (test_x - mu) / sd
    w = torch.zeros(a.shape[1], classes, requires_grad=True)
    c = torch.zeros(classes, requires_grad=True)
    opt = torch.optim.LBFGS([w, c], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a @ w + c, train_y) + 1e-2 * w.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return 100.0 * ((b @ w + c).argmax(1) == test_y).float().mean().item()


train_rows, train_v, train_y = load("train")
test_rows, test_v, test_y = load("test")
print(f"train {len(train_rows)}, test {len(test_rows)} images", flush=True)


def keys_of(r):
    return [table_key(a, v) for a, value in r["aspects"].items() for v in (value if isinstance(value, list) else [value])]


def training_counts():
    counts = {}  # key as the LM answers it -> emotion counts on the training split
    for r, y in zip(train_rows, train_y.tolist()):
        for key in keys_of(r):
            counts.setdefault(key, [0] * len(LABELS))[y] += 1
    return counts


def bundle_entries(key_pieces, word_pieces):
    """EntryTokens over these keys and words with the bundle's learnt maps (its entry_maps.pt)."""
    maker = EntryTokens(key_pieces, word_pieces, model.tok_embed.weight.shape[1])
    maker.load_state_dict(torch.load(os.path.join(args.bundle, "entry_maps.pt")))
    return maker


def training_entries():
    counts = training_counts()
    keys = sorted(counts)
    words = [LABELS[max(range(len(LABELS)), key=lambda e: c[e])] for c in (counts[k] for k in keys)]
    maker = bundle_entries(enc.encode_many(keys), enc.encode_many(words))
    codes = torch.tensor([[EntryTokens.code(i, i) for i in range(len(keys))]])
    with torch.no_grad():
        return maker.embed(model.tok_embed, codes), list(zip(keys, words))


if args.mode == "entry-lookup":
    words = [w for w in corpus_words() if len(enc.encode_many([w])[0]) == 1]
    lookup_question = torch.tensor(enc.encode_many([" Which word goes with this image?<|im_end|>\n<|im_start|>assistant\n"])[0])
    for aspect in ("scene", "facial_expression", "human_action"):
        keep = [i for i, r in enumerate(test_rows) if aspect in r["aspects"]]
        keys = sorted({aspect_answer(test_rows[i]["aspects"][aspect]) for i in keep})
        shown = torch.tensor([keys.index(aspect_answer(test_rows[i]["aspects"][aspect])) for i in keep])
        accuracy = []
        for draw in range(3):
            drawn = random.Random(draw).sample(words, len(keys))
            maker = bundle_entries(enc.encode_many(keys), enc.encode_many(drawn))
            with torch.no_grad():
                table = maker.embed(model.tok_embed, torch.tensor([[EntryTokens.code(i, i) for i in range(len(keys))]]))
                _, logp = run(test_v[keep], table, lookup_question)
                pick = logp[:, torch.tensor([enc.encode_many([w])[0][0] for w in drawn])].argmax(1)
            accuracy.append(100.0 * (pick == shown).float().mean().item())
        print(f"{aspect:18s} {sum(accuracy) / 3:5.1f}% (chance {100 / len(keys):.0f}%; draws "
              + " ".join(f"{a:.1f}" for a in accuracy) + ")")
    sys.exit(0)
if args.mode == "evidence":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    ceilings = __import__("stage2-ceilings")
    ceilings.read_world(args.manifest)
    aspects = ["scene", "object", "facial_expression", "human_action"]
    keys, true_rows = [], []
    for a in aspects:
        rows_a, values = ceilings.ROWS[a]
        keys += [table_key(a, v) for v in values]
        true_rows += rows_a
    for a in ("brightness", "colorfulness"):
        keys += [table_key(a, b) for b in (0.0, 0.2, 0.4, 0.6, 0.8)]
        true_rows += ceilings.BINS[a]

    def features(rs):
        out = torch.zeros(len(rs), len(keys))
        for i, r in enumerate(rs):
            for k in keys_of(r):
                out[i, keys.index(k)] = 1.0
        return out
    w = torch.zeros(len(keys), len(LABELS), requires_grad=True)  # no intercept: a table has none
    opt = torch.optim.LBFGS([w], max_iter=300)
    x_train, x_test = features(train_rows), features(test_rows)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(x_train @ w, train_y) + 1e-2 * w.pow(2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    fitted = w.detach()
    kappa = ceilings.KAPPA
    # The skill in its pretraining form first: fresh random tables over random one-piece words, as
    # --lookup-evidence-share draws them, on the test images: how often the LM's pick is the rule's.
    all_words = corpus_words()
    word_pieces = enc.encode_many(all_words)
    maker = bundle_entries(enc.encode_many(keys), word_pieces)
    by_aspect = {a: [k for k in keys if k in {table_key(a, v) for v in (values if a not in ("brightness", "colorfulness")
                 else (0.0, 0.2, 0.4, 0.6, 0.8))}] for a, values in
                 [(a, ceilings.ROWS[a][1]) for a in aspects] + [("brightness", None), ("colorfulness", None)]}
    choice = enc.encode_many([" Pick the word that matches the image. Choose from:"])[0]
    ev = EvidenceLookups(random.Random(1), by_aspect, lambda a, v: [table_key(a, x) for x in (v if isinstance(v, list) else [v])],
                         keys, all_words, {w: p[0] for w, p in zip(all_words, word_pieces) if len(p) == 1}, maker, [choice],
                         choice, dict(zip(all_words, enc.encode_many([f" {w}," for w in all_words]))), close.item(),
                         enc.encode_many(["<|im_end|>\n<|im_start|>assistant\n"])[0])
    agree, kl, kl_uniform, mass = 0, 0.0, 0.0, 0.0
    with torch.no_grad():
        for i, r in enumerate(test_rows):
            maker.clear()
            tail_ids, _, (option_ids, probs) = ev.example(r["aspects"])
            parts = [model.embed_tokens(head).unsqueeze(0), test_v[i:i + 1], maker.embed(model.tok_embed, torch.tensor([tail_ids]))]
            x = torch.cat(parts, 1)
            bias, cos, sin = model.attention_inputs(x, torch.ones(1, x.shape[1], dtype=torch.long))
            for blk in model.blocks:
                x = blk(x, bias, cos, sin)
            logp = F.log_softmax(model.project_logits(model.norm(x[:, -1])), -1)[0, torch.tensor(option_ids)]
            p = torch.tensor(probs)
            agree += int(logp.argmax() == p.argmax())
            mass += logp.exp().sum().item()  # what the LM leaves on the options (the rest is a cost ranking ignores)
            kl += (p * (p.log() - logp)).sum().item()
            kl_uniform += (p * (p.log() + torch.log(torch.tensor(float(len(probs)))))).sum().item()
    n = len(test_rows)
    print(f"pretraining form, {n} random tables on the test images: LM picks the rule's argmax {100.0 * agree / n:.1f}%, "
          f"KL {kl / n:.3f} (a uniform answer's {kl_uniform / n:.3f}), probability on the options {mass / n:.3f}", flush=True)
    # Per aspect: the world's rows of one aspect alone (images that show it): does the LM pick that row's argmax?
    for a, names in by_aspect.items():
        idx = [keys.index(k) for k in names]
        maker = bundle_entries(enc.encode_many(keys), enc.encode_many(LABELS))
        codes = torch.tensor([[maker.register(i, list(range(len(LABELS))), true_rows[i]) for i in idx]])
        keep = [i for i in range(len(test_rows)) if x_test[i, idx].sum() > 0]
        rule = (x_test[keep][:, idx] @ torch.tensor([true_rows[i] for i in idx])).argmax(1)
        with torch.no_grad():
            _, logp = run(test_v[keep], maker.embed(model.tok_embed, codes))
        print(f"{a:18s} alone ({len(idx)} entries, {len(keep)} test images): LM picks its row's argmax "
              f"{100.0 * (logp.argmax(1) == rule).float().mean():5.1f}%", flush=True)
    # The LM applies softmax(κ Σ rows) (emotune_vlm/evidence.py): the world's rows as they are, the fitted ones / κ.
    for name, table in (("world's table", torch.tensor(true_rows)), ("fitted on train", fitted / kappa)):
        maker = bundle_entries(enc.encode_many(keys), enc.encode_many(LABELS))
        codes = torch.tensor([[maker.register(i, list(range(len(LABELS))), table[i].tolist()) for i in range(len(keys))]])
        with torch.no_grad():
            prompt = maker.embed(model.tok_embed, codes)
            rule = {split: 100.0 * ((x @ table).argmax(1) == y).float().mean().item()
                    for split, x, y in (("train", x_train, train_y), ("test", x_test, test_y))}
            for split, v, y in (("train", train_v, train_y), ("test", test_v, test_y)):
                _, logp = run(v, prompt)
                print(f"{name:24s} {split}: LM with the entries {100.0 * (logp.argmax(1) == y).float().mean():5.1f}%"
                      f"   the rule itself on the annotation {rule[split]:5.1f}%", flush=True)
    sys.exit(0)
if args.mode == "entries":
    entries, pairs = training_entries()
    print("entries: " + ", ".join(f"{k}->{w}" for k, w in pairs))
    counts, word = training_counts(), dict(pairs)
    for name, rs, y in (("train", train_rows, train_y), ("test", test_rows, test_y)):
        votes = torch.zeros(len(rs), len(LABELS))  # the entries' rule without the LM: a vote per shown value
        mixture = torch.zeros(len(rs), len(LABELS))  # the empirical rows' mixture
        for i, r in enumerate(rs):
            for k in keys_of(r):
                if k in word:
                    votes[i, LABELS.index(word[k])] += 1
                    mixture[i] += torch.tensor(counts[k], dtype=torch.float) / sum(counts[k])
        print(f"{name}: the rule itself: votes {100.0 * (votes.argmax(1) == y).float().mean():.1f}%, "
              f"mixture of the training rows {100.0 * (mixture.argmax(1) == y).float().mean():.1f}%")
    with torch.no_grad():
        for name, v, y in (("train", train_v, train_y), ("test", test_v, test_y)):
            _, logp = run(v, entries)
            print(f"{name}: {100.0 * (logp.argmax(1) == y).float().mean():.1f}% with the entries as the prompt")
    sys.exit(0)
if args.mode == "probe":
    with torch.no_grad():
        tr_layers, _ = run(train_v, None)
        te_layers, te_logp = run(test_v, None)
    print(f"zero-shot (first piece) {100.0 * (te_logp.argmax(1) == test_y).float().mean():.1f}%")
    targets = {"emotion": (train_y, test_y)}
    for aspect in ("scene", "facial_expression", "human_action", "brightness", "colorfulness"):
        values = sorted({str(r["aspects"].get(aspect)) for r in train_rows + test_rows})
        targets[aspect] = tuple(torch.tensor([values.index(str(r["aspects"].get(aspect))) for r in rs])
                                for rs in (train_rows, test_rows))
    pooled_tr, pooled_te = train_v.flatten(1), test_v.flatten(1)

    def one_hot(rs):  # the annotation itself: what a perfect reader would hand a linear classifier
        keys = sorted({f"{a}={v}" for r in train_rows + test_rows for a, vs in r["aspects"].items()
                       for v in (vs if isinstance(vs, list) else [vs])})
        out = torch.zeros(len(rs), len(keys))
        for i, r in enumerate(rs):
            for a, vs in r["aspects"].items():
                for v in (vs if isinstance(vs, list) else [vs]):
                    out[i, keys.index(f"{a}={v}")] = 1.0
        return out
    print(f"emotion from the annotated aspects (linear): {probe(one_hot(train_rows), train_y, one_hot(test_rows), test_y, 8):.1f}%")
    for name, (ytr, yte) in targets.items():
        classes = int(max(ytr.max(), yte.max())) + 1
        accs = [probe(tr_layers[i], ytr, te_layers[i], yte, classes) for i in range(len(tr_layers))]
        vis = probe(pooled_tr, ytr, pooled_te, yte, classes)
        print(f"{name:18s} answer position after layer " + " ".join(f"{i + 1}:{a:5.1f}" for i, a in enumerate(accs))
              + f"   | all visual tokens: {vis:5.1f}", flush=True)
else:
    std = model.tok_embed.weight.std().item()
    prompt = (training_entries()[0].clone() if args.init == "entries"
              else torch.randn(1, args.length, model.tok_embed.weight.shape[1]) * std).requires_grad_(True)
    opt = torch.optim.Adam([prompt], lr=args.lr)
    n = train_v.shape[0]
    steps = args.epochs * ((n + 15) // 16)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, int(0.03 * steps)))
                                              * max(0.0, 1 - s / steps))
    for epoch in range(args.epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 16):
            idx = perm[i:i + 16]
            _, logp = run(train_v[idx], prompt)
            # label cross-entropy over the whole vocabulary (what emotune's LM loss is), first piece
            loss = -logp.gather(1, train_y[idx].view(-1, 1)).mean() if args.loss == "lm" \
                else F.cross_entropy(logp, train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if (epoch + 1) % 5 == 0 or epoch + 1 == args.epochs:
            with torch.no_grad():
                _, tr = run(train_v, prompt)
                _, te = run(test_v, prompt)
            print(f"epoch {epoch + 1}: loss {loss.item():.3f}  train {100.0 * (tr.argmax(1) == train_y).float().mean():5.1f}%"
                  f"  test {100.0 * (te.argmax(1) == test_y).float().mean():5.1f}%", flush=True)
