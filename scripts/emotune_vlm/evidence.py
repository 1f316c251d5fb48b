"""Evidence lookups for pretraining (`--lookup-evidence-share`): additive tables of weights, read as entry tokens.

Why: MASP's stage 2 must make the frozen LM apply the affect world's rule, p(emotion | aspects) =
softmax(κ Σ_values row(value)) (csrc/synth/affect_world.cpp), through a soft prompt. Lookups with one word per key
(emotune_vlm/entries.py) teach at best a vote or a mixture of the shown values' words, which caps such a prompt well
below the Bayes limit (docs/experiments/stage2-ceilings.py). An evidence lookup has the rule's own form with random
content: after the image stand entries "key: a row of weights over the option words" (one continuous token each,
A·e(key) + B·s·Σ_w r_w e(w), emotune_vlm/entries.py) for all values of one to six aspects, then a question listing
the options, and the answer distribution is softmax(κ Σ rows of the values the image shows) -- an absent face or
person adds nothing. A soft prompt that writes the world's table in this form is then one the LM can already
execute; whether gradient descent finds it is what stage 2 measures. Words and weights are drawn afresh for every
example (emotion words are options as often as any other word), so nothing about the world's emotions is learnt.

The whole answer distribution is known, so the loss at the answer is the KL divergence from it (options are
one-piece words), not the cross-entropy of one sampled word: a far stronger signal per example. With `match_answers`
(`--evidence-match`) each entry's own position is also trained to say whether the image shows its key (yes/no):
without it the LM learnt to match keys only for what every visual token carries (scenes, brightness), with it
faces too (docs/affect-world.md, V4 against V5)."""
import math
import random
from typing import Callable, Dict, List, Sequence, Tuple

from .entries import EntryTokens

SHARPNESS = 2.5  # κ of the affect world (`emotune synth --sharpness`): the rule is softmax(κ Σ rows)


class EvidenceLookups:
    def __init__(self, rng: random.Random, table_keys: Dict[str, List[str]], keys_of: Callable,
                 all_keys: List[str], words: List[str], one_piece: Dict[str, int], entries: EntryTokens,
                 questions: Sequence[List[int]], choice_question: List[int], choice_ids: Dict[str, List[int]],
                 vision_end: int, turn_end: List[int], max_options: int = 8, focus: Sequence[str] = (),
                 match_answers: Tuple[int, ...] = (), full_share: float = 0.0):
        self.rng, self.table_keys, self.keys_of = rng, table_keys, keys_of
        self.key_index = {k: i for i, k in enumerate(all_keys)}
        self.word_index = {w: i for i, w in enumerate(words)}
        self.options = sorted(one_piece)  # one-piece words: the answer distribution is exact on the first piece
        self.one_piece, self.entries = one_piece, entries
        self.questions, self.choice_question, self.choice_ids = list(questions), choice_question, choice_ids
        self.vision_end, self.turn_end, self.max_options = vision_end, turn_end, max_options
        self.focus = list(focus)  # aspects always in the table when the image shows them (faces, people)
        self.match_answers = match_answers  # (yes id, no id): each entry's own position says if the image shows its key
        # Share of tables of the world's size: every value of every aspect, all options (`--evidence-full-share`).
        # The uniform draw of one to six aspects gives few of them, and the world's whole table was the probe's
        # weakest reading; shares 0.5 and 0.15 made the bundle worse within the budget (docs/affect-world.md, P and Q).
        self.full_share = full_share

    def draw_table(self, shown: Dict) -> Tuple[List[Tuple[str, List[float]]], List[str], List[float]]:
        """(entries as (key, row), option words, answer distribution) of a fresh table for an image showing
        `shown` (its annotation's aspects)."""
        rng = self.rng
        # (no draw at share 0: the committed recipe's random stream, and so its bundle, stays reproducible)
        full = self.full_share > 0 and rng.random() < self.full_share
        n_options = self.max_options if full or rng.random() < 0.6 else rng.randint(2, self.max_options)
        options = rng.sample(self.options, n_options)
        aspects = sorted(self.table_keys) if full else \
            rng.sample(sorted(self.table_keys), rng.randint(1, len(self.table_keys)))
        aspects += [a for a in self.focus if a in shown and a not in aspects]
        shown_keys = {k for a in aspects if a in shown for k in self.keys_of(a, shown[a])}
        table, total = [], [0.0] * n_options
        for a in aspects:
            for k in self.table_keys[a]:
                if not full and k not in shown_keys and rng.random() < 0.2:
                    continue  # tables need not be complete
                # A row like the world's (csrc/synth/affect_world.cpp): mostly zeros, a few weights in logit units
                # up to 1.5, scaled by the world's sharpness κ in the rule.
                row = [rng.uniform(0.2, 1.5) if rng.random() < 0.3 else 0.0 for _ in options]
                table.append((k, row))
                if k in shown_keys:  # the rule: the sum of the rows of the values the image shows
                    total = [t + SHARPNESS * r for t, r in zip(total, row)]
        rng.shuffle(table)
        top = max(total)
        weights = [math.exp(t - top) for t in total]
        return table, options, [w / sum(weights) for w in weights]

    def example(self, shown: Dict) -> Tuple[List[int], List[int], Tuple[List[int], List[float]]]:
        """(tail ids before the answer, one sampled answer's ids, (the options' piece ids, their probabilities[, per
        entry (its tail index, yes or no)]))."""
        table, options, probs = self.draw_table(shown)
        option_words = [self.word_index[w] for w in options]
        tail = [self.vision_end] + [self.entries.register(self.key_index[k], option_words, row) for k, row in table]
        if self.rng.random() < 0.7:  # the emotion question's form: "... Choose from: w1, w2, ..."
            tail += self.choice_question + [t for w in options for t in self.choice_ids[w]]
        else:
            tail += self.rng.choice(self.questions)
        answer = self.rng.choices(options, probs)[0]
        scored = ([self.one_piece[w] for w in options], probs)
        if self.match_answers:
            yes, no = self.match_answers
            seen = {k for a in shown for k in self.keys_of(a, shown[a])}
            scored += ([(1 + j, yes if k in seen else no) for j, (k, _) in enumerate(table)],)
        return tail + self.turn_end, [self.one_piece[answer]], scored
