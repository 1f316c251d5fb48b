#!/usr/bin/python3
"""What a soft prompt can reach through a lookup-trained LM, by which aspects the bundle reads (ad hoc, 2026-11-23).

A lookup-pretrained LM answers with a word its context ties to what it sees; several matching entries give a
mixture of their words. A soft prompt that exploits this can at best realise, per image, the *mixture* of one
distribution per visible aspect value (each value's row of the table, softmax(κ row)), not the table's sum of
logits (the Bayes rule). This prints, for a world's manifest, the expected accuracy of the argmax of
  - the Bayes rule (sum of all rows) and the sum restricted to some aspects,
  - the mixture of the rows' softmaxes over all aspects or some,
against the true p(emotion | aspects). The table is read from csrc/synth/affect_world.cpp.
Usage: docs/experiments/stage2-ceilings.py data/generated/world/manifest.jsonl [split]"""
import json
import math
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SOURCE = open(os.path.join(ROOT, "csrc", "synth", "affect_world.cpp")).read()


def table(name):
    block = SOURCE[SOURCE.index(name):]
    block = block[:block.index("};")]
    return [[float(x) for x in row.split(",")] for row in re.findall(r"\{([0-9., ]+)\}", block)]


ROWS = {}  # aspect -> (table rows, value names from the world's world.json)
KAPPA = None
BINS = {"brightness": table("kBrightnessScores"), "colorfulness": table("kColorfulnessScores")}


def rows_of(aspects, use):
    out = []
    for name in use:
        if name in BINS:
            out.append(BINS[name][min(4, int(aspects[name] / 0.2 + 1e-9))])
        elif name in aspects:
            rows, values = ROWS[name]
            shown = aspects[name] if isinstance(aspects[name], list) else [aspects[name]]
            out += [rows[values.index(v)] for v in shown]
    return out


def read_world(manifest_path):
    global KAPPA
    with open(os.path.join(os.path.dirname(manifest_path), "world.json")) as f:
        world = json.load(f)
    KAPPA = world["sharpness"]
    for aspect, name, key in [("scene", "kSceneScores", "scenes"), ("object", "kObjectScores", "objects"),
                              ("facial_expression", "kExpressionScores", "facial_expressions"),
                              ("human_action", "kActionScores", "human_actions")]:
        ROWS[aspect] = (table(name), world[key])


def softmax(v):
    m = max(v)
    e = [math.exp(KAPPA * (x - m)) for x in v]
    return [x / sum(e) for x in e]


def main():
    read_world(sys.argv[1])
    manifest = [json.loads(line) for line in open(sys.argv[1])]
    if len(sys.argv) > 2:
        manifest = [r for r in manifest if r["split"] == sys.argv[2]]
    everything = ["scene", "object", "facial_expression", "human_action", "brightness", "colorfulness"]
    seen_by_committed = ["scene", "brightness", "colorfulness"]
    rules = {
        "Bayes (sum of all rows)": ("sum", everything),
        "sum: scene, brightness, colorfulness": ("sum", seen_by_committed),
        "sum: all but objects": ("sum", [a for a in everything if a != "object"]),
        "mixture: all aspects": ("mix", everything),
        "mixture: scene, brightness, colorfulness": ("mix", seen_by_committed),
        "mixture: all but objects": ("mix", [a for a in everything if a != "object"]),
    }
    for name, (kind, use) in rules.items():
        expected = 0.0
        for r in manifest:
            truth = softmax([sum(c) for c in zip(*rows_of(r["aspects"], everything))])
            rows = rows_of(r["aspects"], use)
            score = [sum(c) for c in zip(*rows)] if kind == "sum" else [sum(c) for c in zip(*map(softmax, rows))]
            expected += truth[score.index(max(score))]
        print(f"{name:44s} {100 * expected / len(manifest):5.1f}%")


if __name__ == "__main__":
    main()
