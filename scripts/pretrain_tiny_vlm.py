#!/usr/bin/python3
"""Pretrains emotune's embedded default VLM on the affect world and writes it as a bundle (docs/bundle.md).

Recipe (seeded, logged to <out>/pretrain.log):
  1. `emotune synth` renders a pretraining world (its own seed, disjoint from the quickstart's world).
  2. spm_train builds the tokenizer from the world's text, the question templates emotune ships
     (`emotune info --print-config`), and the label names of the common benchmark label sets (so emotion
     words exist in the vocabulary).
  3a. Vision warm-up (`--vision-minutes`, off by default, 3 minutes in the committed recipe): the tower and merger learn
     the annotation's aspects (facts, no emotion) through linear aspect heads on the pooled visual tokens
     (emotune_vlm/aspect_heads.py, not exported), a short gradient path to faces, poses and objects; their
     held-out accuracy is logged. `--freeze-vision` then freezes the vision side and caches its tokens.
  3. The TinyVLM of emotune_vlm/tiny_vlm.py (vision tower, merger, decoder) trains from scratch on
     aspect question/answer pairs (every template, every aspect) and captions of the world's images, in
     emotune's chat template. It never sees an emotion label as an answer. Questions are sampled in proportion
     to their templates, or task first with `--broad-task-weights` (as in step 4).
     Augmentation: with probability `pool_prob` the image span holds 1, 2 or 4 mean-pooled visual tokens
     instead of all T, so the LM also learns to read a few summary tokens (what MASP's aspect modules feed it).
     Word-table lookups (`--lookup-share` of the batches): after the image, where MASP puts its soft prompt,
     stands a table that gives some values of one or two aspects each a random word ("beach: stone. storm:
     awe. happy: lamp. ..."), then a question, and the answer is the word of a value the image shows (when
     several match, one of them at random). Kinds:
       - image lookups: "Which word goes with this image?" (sometimes "Choose from:" and the table's words);
       - text lookups (`--lookup-text-share`): "What word does the table give for beach?" (as committed, a key
         the image shows; `--lookup-text-any-key`: any table key);
       - verification (`--verify-share`): "Does the image show storm?" -> yes/no;
       - optional (off by default): aspect-named (`--lookup-aspect-share`: "Which word does the table give for
         the facial expression in the image?"); recall (`--lookup-recall-share`: no question, the table goes on
         with a key and its colon, "... beach: ", docs/experiments/recall-format.py); pick (`--lookup-pick-share`:
         no table, "Which of these does the image show? Choose from: storm, happy, lamp," -- the emotion
         question's form, answered by copying an option the image shows: one hop, no key-to-word indirection).
       - entry (`--lookup-entry-share`): each table entry is one continuous token, A·e(key) + B·e(word)
         (emotune_vlm/entries.py), so the key and its word share a position, as in a soft prompt.
       - evidence (`--lookup-evidence-share`): entry tokens that hold a row of random weights over option words,
         for all values of one to six aspects (all six, `--evidence-full-share`); the answer distribution is the
         softmax of the shown values' rows summed -- the form of the world's own p(emotion | aspects)
         (emotune_vlm/evidence.py); `--evidence-focus` names aspects always in such a table when the image shows
         them; `--evidence-match` trains each entry's own position to say (yes/no) whether the image shows its key.
     Words are drawn afresh for every example, so tables carry no information about the world's emotions; they
     teach the skill prompt tuning relies on: answering with a word the context ties to what the LM sees.
  4. Focus phase (`--focus-minutes`, off by default, 27 minutes in the committed recipe): a second schedule
     (`--focus-lr`) whose question examples pick their task first, with weights that favour faces, people and
     objects (`--focus-task-weights`); lookups go on (`--focus-lookup-share`).
  5. The scripted model, tokenizer and bundle.yaml are written to <out>.
Run with Debian's /usr/bin/python3 (python3-torch, python3-opencv, python3-yaml)."""
import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

# Sleeping OpenMP workers: 2.75x the steps on 2-core VMs (docs/benchmarks.md); libgomp reads it as torch loads it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cv2  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from emotune_vlm.aspect_heads import AspectHeads, AspectLabels, vision_parameters, warm_up_vision  # noqa: E402
from emotune_vlm.corpus import corpus_lines, corpus_words  # noqa: E402
from emotune_vlm.encoder import Encoder  # noqa: E402
from emotune_vlm.entries import EntryTokens  # noqa: E402
from emotune_vlm.evidence import EvidenceLookups  # noqa: E402
from emotune_vlm.losses import answer_losses  # noqa: E402
from emotune_vlm.tiny_vlm import TinyVLM, TinyVLMConfig, script  # noqa: E402
from make_tiny_bundle import bundle_yaml, piece_ids, train_tokenizer  # noqa: E402

SYSTEM = "You are a helpful assistant."
MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
CAPTION_QUESTIONS = ["Describe the image.", "What does this picture show?", "Give a short caption for the image."]
LOOKUP_QUESTIONS = ["Which word goes with this image?", "Which of the words fits the picture?",
                    "What word does the table give for this image?", "Which word matches what you see?"]
LOOKUP_CHOICE_QUESTION = "Pick the word that matches the image. Choose from:"
PICK_QUESTION = "Which of these does the image show? Choose from:"
ASPECT_PHRASES = {"scene": "scene", "object": "object", "facial_expression": "facial expression",
                  "human_action": "person's action", "brightness": "brightness", "colorfulness": "colorfulness"}


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


def table_key(aspect, value):
    """A value as a lookup table's key: the LM's answer, bins with their aspect's name (brightness and
    colorfulness share them)."""
    return f"{aspect} {aspect_answer(value)}" if aspect in ("brightness", "colorfulness") else aspect_answer(value)


def load_pixels(base, rows):
    """The rows' images under base as the bundle's normalised [N,3,H,W] input."""
    pixels = []
    for r in rows:
        img = cv2.imread(os.path.join(base, r["image"]), cv2.IMREAD_COLOR)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype("float32") / 255.0
        pixels.append(torch.from_numpy(img).permute(2, 0, 1))
    px = torch.stack(pixels)
    return (px - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def load_world(emotune, out, images, seed, size):
    subprocess.run([emotune, "synth", "--out", out, "--images", str(images), "--seed", str(seed), "--size", str(size)],
                   check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(os.path.join(out, "manifest.jsonl"))]
    px = load_pixels(out, rows)
    with open(os.path.join(out, "world.json")) as f:
        return rows, px, AspectLabels(json.load(f), rows)


def parse_task_weights(text, task_names, option="--focus-task-weights"):
    """"facial_expression=4,object=2" -> {task: weight}; an unknown task or a bad weight is an error naming it."""
    weights = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        task, _, value = item.partition("=")
        if task not in task_names:
            raise SystemExit(f"{option}: unknown task '{task}' (expected one of {', '.join(task_names)})")
        try:
            weights[task] = float(value)
        except ValueError:
            raise SystemExit(f"{option}: '{item}' needs a number after '=' (e.g. {task}=4)")
        if weights[task] < 0:
            raise SystemExit(f"{option}: the weight of '{task}' must not be negative")
    if all(weights.get(t, 1.0) == 0 for t in task_names):
        raise SystemExit(f"{option}: at least one task must weigh more than 0")
    return weights


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--emotune", default="build/emotune")
    ap.add_argument("--out", default="models/tiny")
    ap.add_argument("--work", default="data/generated/pretrain")
    ap.add_argument("--images", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget of the broad phase (step 3)")
    ap.add_argument("--vision-minutes", type=float, default=0.0,
                    help="wall-clock budget of the vision warm-up on aspect heads (step 3a; 0: none)")
    ap.add_argument("--vision-steps", type=int, default=0, help="a step budget instead of --vision-minutes")
    ap.add_argument("--heldout-images", type=int, default=600, help="held-out world (seed + 1) for the heads' accuracy")
    ap.add_argument("--freeze-vision", action="store_true", help="vision frozen after the warm-up, tokens cached")
    ap.add_argument("--broad-task-weights", default="templates",
                    help="question sampling of the broad phase: 'templates' (in proportion to the question "
                         "templates) or task=weight,... as --focus-task-weights ('uniform': every task weighs 1)")
    ap.add_argument("--focus-minutes", type=float, default=0.0, help="wall-clock budget of the focus phase (step 4)")
    ap.add_argument("--focus-lr", type=float, default=1e-3)
    ap.add_argument("--focus-lookup-share", type=float, default=0.45)
    ap.add_argument("--focus-task-weights", default="facial_expression=4,human_action=4,object=2",
                    help="task=weight,...; tasks not named weigh 1 (the tasks: the six aspects and caption)")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--pool-prob", type=float, default=0.35)
    ap.add_argument("--lookup-share", type=float, default=0.55, help="share of the batches that are word-table lookups")
    ap.add_argument("--lookup-aspects", type=int, default=2, help="a lookup table covers 1 to this many aspects")
    ap.add_argument("--lookup-text-share", type=float, default=0.35,
                    help="share of lookups whose question names the key (text-only lookups bootstrap the skill)")
    ap.add_argument("--lookup-text-any-key", action="store_true",
                    help="text lookups name any key of the table, not one the image shows (pure copying)")
    ap.add_argument("--lookup-aspect-share", type=float, default=0.0,
                    help="share of lookups whose question names the aspect, not the key (reading, then copying)")
    ap.add_argument("--lookup-recall-share", type=float, default=0.0,
                    help="share of lookups that end with a table key and its colon, the answer its word (recall)")
    ap.add_argument("--lookup-pick-share", type=float, default=0.0,
                    help="share of lookups that list table keys as options, the answer one the image shows (pick)")
    ap.add_argument("--lookup-entry-share", type=float, default=0.0,
                    help="share of lookups whose table entries are single continuous tokens (emotune_vlm/entries.py)")
    ap.add_argument("--lookup-evidence-share", type=float, default=0.0, help="share of lookups that are evidence tables")
    ap.add_argument("--evidence-focus", default="", help="aspects always in an evidence table the image shows them in")
    ap.add_argument("--evidence-match", action="store_true", help="evidence entries say if the image shows their key")
    ap.add_argument("--evidence-full-share", type=float, default=0.0, help="share of evidence tables of the world's size")
    ap.add_argument("--verify-share", type=float, default=0.2,
                    help="share of lookups replaced by 'Does the image show <key>?' (yes/no) over the same table")
    ap.add_argument("--image-size", type=int, default=96)
    ap.add_argument("--patch-size", type=int, default=12)
    ap.add_argument("--lm-layers", type=int, default=4, help="decoder depth")
    ap.add_argument("--steps", type=int, default=0,
                    help="a step budget instead of --minutes (the schedule then follows steps; reproducible on any CPU)")
    ap.add_argument("--focus-steps", type=int, default=0, help="a step budget instead of --focus-minutes")
    ap.add_argument("--init-from", default="",
                    help="a bundle written by this script to continue training (its tokenizer and weights) instead of "
                         "starting from scratch; with --minutes 0 only the focus phase runs")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.init_from:  # checked before the world is rendered
        missing = [n for n in ("vlm.pt", "architecture.yaml", "tokenizer.model", "tokenizer.vocab")
                   if not os.path.isfile(os.path.join(args.init_from, n))]
        if missing:
            raise SystemExit(f"--init-from {args.init_from}: not a bundle written by this script (missing "
                             f"{', '.join(missing)})")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "pretrain.log"), "w")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    recipe_start = time.time()
    say(f"args: {vars(args)}")
    cfg_yaml = subprocess.run([args.emotune, "info", "--print-config"], stdout=subprocess.PIPE, check=True).stdout
    questions = yaml.safe_load(cfg_yaml)["masp"]["questions"]
    rows, pixels, labels = load_world(args.emotune, args.work, args.images, args.seed, args.image_size)
    say(f"world: {len(rows)} images in {args.work}")
    warm_up = args.vision_minutes > 0 or args.vision_steps > 0
    if warm_up:
        _, heldout_pixels, heldout_labels = load_world(args.emotune, args.work + "-heldout", args.heldout_images,
                                                       args.seed + 1, args.image_size)
        say(f"held-out world: {args.heldout_images} images (seed {args.seed + 1}) in {args.work}-heldout")

    # Examples: (image index, question, answer, task). Emotion labels are never answers (tables' random words are).
    examples = []
    for i, r in enumerate(rows):
        for aspect, value in r["aspects"].items():
            for q in questions.get(aspect, []):
                examples.append((i, q, aspect_answer(value), aspect))
        for q in CAPTION_QUESTIONS:
            examples.append((i, q, caption(r["aspects"]), "caption"))
    # Table keys: every value of every aspect, as the LM answers it (bins carry their aspect's name, since
    # brightness and colorfulness share them); the words: the vocabulary of the corpus and of the answers.
    def keys_of(aspect, value):
        if aspect == "object":
            return [aspect_answer(v) for v in value]
        return [table_key(aspect, value)]
    table_keys = {}
    for r in rows:
        for aspect, value in r["aspects"].items():
            table_keys.setdefault(aspect, set()).update(keys_of(aspect, value))
    table_keys = {a: sorted(k) for a, k in table_keys.items()}
    words = corpus_words()
    lines = corpus_lines() + [q for qs in questions.values() for q in qs] + CAPTION_QUESTIONS
    lines += sorted({e[2] for e in examples}) + LOOKUP_QUESTIONS + [LOOKUP_CHOICE_QUESTION]
    lines += [f"{k}: {w}. " for keys in table_keys.values() for k in keys for w in words[:2]]
    lines += [f"What word does the table give for {k}?" for keys in table_keys.values() for k in keys]
    lines += [f"Does the image show {k}?" for keys in table_keys.values() for k in keys] + ["yes", "no"]
    if args.lookup_aspect_share > 0:  # (kept out otherwise: the committed recipe's tokenizer stays as it was)
        lines += [f"Which word does the table give for the {p} in the image?" for p in ASPECT_PHRASES.values()]
    if args.lookup_pick_share > 0:
        lines += [PICK_QUESTION + "".join(f" {k}," for k in keys) for keys in table_keys.values()]
    if args.init_from:  # the continued bundle's tokenizer, so its embeddings keep their meaning
        for name in ("tokenizer.model", "tokenizer.vocab"):
            shutil.copy(os.path.join(args.init_from, name), os.path.join(args.out, name))
        vocab = len(piece_ids(args.out))
    else:
        vocab = train_tokenizer(args.out, lines, 1024)
    say(f"tokenizer: {vocab} pieces, {len(examples)} examples")
    ids = piece_ids(args.out)
    enc = Encoder(os.path.join(args.out, "tokenizer.model"), ids["<0x0A>"])
    eot = ids["<|im_end|>"]
    prefix = enc.encode_many([f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n<|vision_start|>"])[0]
    q_ids = dict(zip(sorted({e[1] for e in examples}),
                     enc.encode_many([f"<|vision_end|>{q}<|im_end|>\n<|im_start|>assistant\n" for q in sorted({e[1] for e in examples})])))
    a_ids = dict(zip(sorted({e[2] for e in examples}), enc.encode_many(sorted({e[2] for e in examples}))))
    # Lookup pieces are encoded once and concatenated, "<key>: " + "<word>" + ". " per entry, the word with the
    # very pieces it has as an answer (the tokenizer has no dummy prefix: "awe" alone is not " awe").
    all_keys = sorted({k for keys in table_keys.values() for k in keys})
    key_ids = dict(zip(all_keys, enc.encode_many([f"{k}: " for k in all_keys])))
    word_ids = dict(zip(words + ["yes", "no"], enc.encode_many(words + ["yes", "no"])))
    separator = enc.encode_many([". "])[0]
    entry_ids = {w: word_ids[w] + separator for w in words}
    choice_ids = dict(zip(words, enc.encode_many([f" {w}," for w in words])))
    key_choice_ids = dict(zip(all_keys, enc.encode_many([f" {k}," for k in all_keys])))
    key_answer_ids = dict(zip(all_keys, enc.encode_many(all_keys)))
    pick_ids = enc.encode_many([" " + PICK_QUESTION])[0]
    turn_end = enc.encode_many(["<|im_end|>\n<|im_start|>assistant\n"])[0]
    lq_ids = dict(zip(LOOKUP_QUESTIONS + [LOOKUP_CHOICE_QUESTION], enc.encode_many([" " + q for q in LOOKUP_QUESTIONS + [LOOKUP_CHOICE_QUESTION]])))
    lookup_rng = random.Random(args.seed + 1)
    key_question_ids = dict(zip(all_keys, enc.encode_many([f" What word does the table give for {k}?" for k in all_keys])))
    aspect_question_ids = dict(zip(ASPECT_PHRASES, enc.encode_many(
        [f" Which word does the table give for the {p} in the image?" for p in ASPECT_PHRASES.values()])))
    verify_question_ids = dict(zip(all_keys, enc.encode_many([f" Does the image show {k}?" for k in all_keys])))

    def lookup_example(i):
        """(image index, tail ids without the answer, answer ids) of a fresh word-table lookup on image i."""
        shown = rows[i]["aspects"]
        if args.lookup_evidence_share and lookup_rng.random() < args.lookup_evidence_share:
            return evidence.example(shown)
        aspects = lookup_rng.sample(sorted(shown), min(lookup_rng.randint(1, args.lookup_aspects), len(shown)))
        entries = []  # (key, word)
        for a in aspects:
            keys = table_keys[a][:]
            lookup_rng.shuffle(keys)
            entries += [(k, None) for k in keys[:lookup_rng.randint(2, len(keys))]]
            for k in keys_of(a, shown[a]):  # the shown values are always in the table
                if (k, None) not in entries:
                    entries.append((k, None))
        drawn = lookup_rng.sample(words, len(entries))
        entries = [(k, w) for (k, _), w in zip(entries, drawn)]
        lookup_rng.shuffle(entries)
        matching = [(k, w) for k, w in entries if any(k in keys_of(a, shown[a]) for a in aspects)]
        key, answer = lookup_rng.choice(matching)
        if args.lookup_entry_share and lookup_rng.random() < args.lookup_entry_share:  # one token per entry
            tail = [ids["<|vision_end|>"]] + [EntryTokens.code(all_keys.index(k), words.index(w)) for k, w in entries]
            question = lq_ids[lookup_rng.choice(LOOKUP_QUESTIONS + [LOOKUP_CHOICE_QUESTION])]
            options = lookup_rng.sample([w for _, w in entries], len(entries))
            tail += question + ([t for w in options for t in choice_ids[w]] if question == lq_ids[LOOKUP_CHOICE_QUESTION] else [])
            return tail + turn_end, word_ids[answer]
        if args.lookup_pick_share and lookup_rng.random() < args.lookup_pick_share:  # the table's keys as options
            return ([ids["<|vision_end|>"]] + pick_ids + [t for k, _ in entries for t in key_choice_ids[k]] + turn_end,
                    key_answer_ids[key])
        tail = [ids["<|vision_end|>"]]
        for k, w in entries:
            tail += key_ids[k] + entry_ids[w]
        if args.lookup_recall_share and lookup_rng.random() < args.lookup_recall_share:  # text recall: "... beach: "
            key, answer = lookup_rng.choice(entries)
            return tail + key_ids[key], word_ids[answer]
        draw = lookup_rng.random()
        if draw < args.verify_share:  # does the image show a key? (trains matching the picture to key words)
            a = lookup_rng.choice(aspects)
            probe = lookup_rng.choice(keys_of(a, shown[a]) if lookup_rng.random() < 0.5 else table_keys[a])
            yes = probe in keys_of(a, shown[a])
            return tail + verify_question_ids[probe] + turn_end, word_ids["yes" if yes else "no"]
        if draw < args.verify_share + args.lookup_text_share:  # the key named in the question: lookup by text alone
            if args.lookup_text_any_key:
                key, answer = lookup_rng.choice(entries)
            tail += key_question_ids[key]
        elif draw < args.verify_share + args.lookup_text_share + args.lookup_aspect_share:
            a = lookup_rng.choice(aspects)
            key = lookup_rng.choice(keys_of(a, shown[a]))
            answer = dict(entries)[key]
            tail += aspect_question_ids[a]
        elif lookup_rng.random() < 0.5:
            tail += lq_ids[LOOKUP_CHOICE_QUESTION]
            options = [w for _, w in entries]
            lookup_rng.shuffle(options)
            for w in options:
                tail += choice_ids[w]
        else:
            tail += lq_ids[lookup_rng.choice(LOOKUP_QUESTIONS)]
        return tail + turn_end, word_ids[answer]

    cfg = TinyVLMConfig(vocab_size=vocab, image_size=args.image_size, patch_size=args.patch_size, merge=2, vision_dim=96, vision_layers=3,
                        vision_heads=4, hidden_size=128, lm_layers=args.lm_layers, lm_heads=4, mlp_ratio=3)
    model = TinyVLM(cfg)
    if args.init_from:
        with open(os.path.join(args.init_from, "architecture.yaml")) as f:
            if yaml.safe_load(f) != cfg.to_dict():
                raise SystemExit(f"--init-from {args.init_from}: its architecture.yaml differs from this recipe's "
                                 f"architecture {cfg.to_dict()}")
        model.load_state_dict(torch.jit.load(os.path.join(args.init_from, "vlm.pt")).state_dict())
        say(f"continuing the bundle in {args.init_from}")
    say(f"model: {sum(p.numel() for p in model.parameters())} parameters, config {cfg.to_dict()}")
    entry_tokens = EntryTokens([key_answer_ids[k] for k in all_keys], [word_ids[w] for w in words], cfg.hidden_size) \
        if args.lookup_entry_share or args.lookup_evidence_share else None
    if entry_tokens and args.init_from and os.path.isfile(os.path.join(args.init_from, "entry_maps.pt")):
        entry_tokens.load_state_dict(torch.load(os.path.join(args.init_from, "entry_maps.pt")))
        say(f"entry maps continued from {args.init_from}")
    focus = [a for a in args.evidence_focus.split(",") if a]
    if set(focus) - set(table_keys):
        raise SystemExit(f"--evidence-focus: unknown aspect(s) {sorted(set(focus) - set(table_keys))}, expected {sorted(table_keys)}")
    evidence = EvidenceLookups(
        lookup_rng, table_keys, keys_of, all_keys, words,
        {w: word_ids[w][0] for w in words if len(word_ids[w]) == 1}, entry_tokens, [lq_ids[q] for q in LOOKUP_QUESTIONS],
        lq_ids[LOOKUP_CHOICE_QUESTION], choice_ids, ids["<|vision_end|>"], turn_end,
        focus=focus, full_share=args.evidence_full_share,
        match_answers=(word_ids["yes"][0], word_ids["no"][0]) if args.evidence_match else ()) \
        if args.lookup_evidence_share else None
    prefix_t = torch.tensor(prefix)
    order = list(range(len(examples)))
    random.shuffle(order)
    cursor = 0

    def broad_questions():
        """Step 3: question examples in proportion to their templates, an epoch at a time."""
        nonlocal cursor
        if cursor + args.batch > len(order):
            random.shuffle(order)
            cursor = 0
        cursor += args.batch
        return [examples[j] for j in order[cursor - args.batch:cursor]]

    tasks = {}  # aspect or "caption" -> its examples
    for e in examples:
        tasks.setdefault(e[3], []).append(e)
    task_names = sorted(tasks)

    def task_sampler(option, text):
        """Questions drawn task first (weighted), then an example of it."""
        weight_of = parse_task_weights("" if text == "uniform" else text, task_names, option)
        weights = [weight_of.get(t, 1.0) for t in task_names]
        say(f"{option}: " + ", ".join(f"{t} {w:g}" for t, w in zip(task_names, weights)))
        return lambda: [random.choice(tasks[t]) for t in random.choices(task_names, weights, k=args.batch)]

    if args.broad_task_weights != "templates":
        broad_questions = task_sampler("--broad-task-weights", args.broad_task_weights)
    focus_questions = task_sampler("--focus-task-weights", args.focus_task_weights)  # checked before training

    def encode_all(px):
        with torch.no_grad():  # in chunks: the whole world at once would hold every activation
            return torch.cat([model.encode_image(px[i:i + 200]) for i in range(0, len(px), 200)])

    encode = lambda index: model.encode_image(pixels[index])  # noqa: E731
    if warm_up:
        heads = AspectHeads(cfg.hidden_size, labels.classes())
        warm_up_vision(model, heads, pixels, labels, args, say)
        visual = encode_all(heldout_pixels)  # (no dropout or batch norm: train and eval modes agree)
        say("aspect heads on the held-out world after the warm-up: " +
            ", ".join(f"{k} {v:.1f}%" for k, v in heads.accuracy(visual, heldout_labels).items()))
    if args.freeze_vision:
        for p in vision_parameters(model):
            p.requires_grad_(False)
        frozen_visual = encode_all(pixels)
        encode = lambda index: frozen_visual[index]  # noqa: E731
        say("vision frozen: its tokens are computed once per image")

    def train_phase(name, minutes, steps, base_lr, warmup, lookup_share, next_questions):
        if not steps and minutes <= 0:
            return
        trained = [p for p in model.parameters() if p.requires_grad] + (list(entry_tokens.parameters()) if entry_tokens else [])
        opt = torch.optim.AdamW(trained, lr=base_lr, weight_decay=0.01, betas=(0.9, 0.98))
        start, step, avg, avg_lookup, avg_evidence = time.time(), 0, None, None, None
        while True:
            elapsed = time.time() - start
            if (steps and step >= steps) or (not steps and elapsed > minutes * 60):
                break
            batch = next_questions()
            if entry_tokens:
                entry_tokens.clear()  # evidence entries live for one batch
            # (image, tail ids before the answer, answer ids): aspect/caption examples or, a whole batch at a
            # time (lookups are long; mixing them would pad every short example to their length), fresh lookups.
            if lookup_rng.random() < lookup_share:
                batch = [(lookup_rng.randrange(len(rows)),) for _ in batch]
            is_lookup = torch.tensor([len(b) == 1 for b in batch])
            batch = [(b[0],) + tuple(lookup_example(b[0])) if len(b) == 1 else (b[0], q_ids[b[1]], a_ids[b[2]]) for b in batch]
            visual = encode(torch.tensor([b[0] for b in batch]))
            if random.random() < args.pool_prob:
                k = random.choice([1, 2, 4])
                perm = torch.randperm(visual.shape[1])
                visual = torch.stack([visual[:, perm[g::k]].mean(1) for g in range(k)], 1)
            token_loss, of_lookup, of_evidence = answer_losses(model, prefix_t, visual, batch, is_lookup, ids["<pad>"], eot, entry_tokens)
            loss = token_loss.mean()
            # The lookups' share of the loss, logged on its own: it shows whether the LM learns to read tables.
            if of_lookup.any():
                lk = token_loss[of_lookup].mean().item()
                avg_lookup = lk if avg_lookup is None else 0.98 * avg_lookup + 0.02 * lk
            if of_evidence.any():  # evidence lookups' KL from the rule at the answer (emotune_vlm/evidence.py)
                kl = token_loss[of_evidence].mean().item()
                avg_evidence = kl if avg_evidence is None else 0.98 * avg_evidence + 0.02 * kl
            # Cosine decay over the budget (the step count is only known approximately in advance).
            frac = step / steps if steps else min(1.0, elapsed / (minutes * 60))
            lr = base_lr * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            opt.param_groups[0]["lr"] = lr  # (one group)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            opt.step()
            avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
            step += 1
            if step % 100 == 0:
                say(f"{name} step {step} loss {avg:.4f} (lookups {avg_lookup if avg_lookup is not None else float('nan'):.4f}"
                    + (f", evidence KL {avg_evidence:.4f}" if avg_evidence is not None else "") + ") "
                    f"lr {lr:.2e} elapsed {elapsed / 60:.1f} min ({step * args.batch / max(elapsed, 1e-9):.0f} examples/s)")
        if step:
            say(f"{name} phase done: {step} steps, {step * args.batch} examples, final loss {avg:.4f}, "
                f"{(time.time() - start) / 60:.1f} min")

    train_phase("broad", args.minutes, args.steps, args.lr, 200, args.lookup_share, broad_questions)
    if args.focus_minutes > 0 or args.focus_steps > 0:
        train_phase("focus", args.focus_minutes, args.focus_steps, args.focus_lr, 20, args.focus_lookup_share,
                    focus_questions)
    model.eval()
    with open(os.path.join(args.out, "architecture.yaml"), "w") as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False)
    script(model).save(os.path.join(args.out, "vlm.pt"))
    if entry_tokens:  # not part of the bundle: for probing the entry skill (docs/experiments/stage2-probe.py)
        torch.save(entry_tokens.state_dict(), os.path.join(args.out, "entry_maps.pt"))
    with open(os.path.join(args.out, "bundle.yaml"), "w") as f:
        f.write(bundle_yaml("tiny-affect-world", cfg, ids))
    say(f"bundle written to {args.out}; the whole recipe took {(time.time() - recipe_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
