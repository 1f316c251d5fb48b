#!/usr/bin/python3
"""scripts/emotune_vlm/evidence.py and losses.py: an evidence lookup's answer distribution is the softmax of the
summed rows (times the world's sharpness κ) of exactly the values the image shows (an absent aspect adds nothing), its entries reach the LM as
A·e(key) + B·Σ_w r_w e(w), and the loss scores it by the KL divergence from that distribution at the first
answer position while every other answer token keeps its cross-entropy."""
import math
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from emotune_vlm.entries import EVIDENCE_BASE, EVIDENCE_ROW_SCALE, EntryTokens  # noqa: E402
from emotune_vlm.evidence import SHARPNESS, EvidenceLookups  # noqa: E402
from emotune_vlm.losses import answer_losses  # noqa: E402
from emotune_vlm.tiny_vlm import TinyVLM, TinyVLMConfig  # noqa: E402

TABLE_KEYS = {"scene": ["beach", "forest", "room"], "facial_expression": ["happy", "sad"]}
ALL_KEYS = ["beach", "forest", "happy", "room", "sad"]
WORDS = ["stone", "awe", "lamp", "fear", "tree", "cup"]
ONE_PIECE = {w: 20 + i for i, w in enumerate(WORDS)}


def keys_of(aspect, value):
    return [value]


def lookups(seed, entries=None, focus=(), match=(), full_share=0.0):
    entries = entries or EntryTokens([[3 + i] for i in range(len(ALL_KEYS))], [[20 + i] for i in range(len(WORDS))], 8)
    return EvidenceLookups(random.Random(seed), TABLE_KEYS, keys_of, ALL_KEYS, WORDS, ONE_PIECE, entries,
                           [[40, 41]], [42, 43], {w: [50 + i] for i, w in enumerate(WORDS)}, 1, [60, 61], 4,
                           focus, match, full_share), entries


class EvidenceLookupsTest(unittest.TestCase):
    def test_the_answer_is_the_softmax_of_the_shown_values_rows(self):
        for seed in range(50):
            shown = {"scene": "forest"} if seed % 2 else {"scene": "forest", "facial_expression": "sad"}
            table, options, probs = lookups(seed)[0].draw_table(shown)
            keys = [k for k, _ in table]
            self.assertEqual(len(keys), len(set(keys)))
            total = [0.0] * len(options)
            for k, row in table:
                self.assertEqual(len(row), len(options))
                if k in shown.values():
                    total = [t + SHARPNESS * r for t, r in zip(total, row)]
            z = sum(math.exp(t) for t in total)
            for p, t in zip(probs, total):
                self.assertAlmostEqual(p, math.exp(t) / z, places=9)
            chosen = {a for a, ks in TABLE_KEYS.items() if any(k in keys for k in ks)}
            for a in chosen & set(shown):  # a table over an aspect the image shows always holds the shown value
                self.assertIn(shown[a], keys)

    def test_an_absent_aspect_adds_nothing(self):
        uniform = 0
        for seed in range(200):
            table, options, probs = lookups(seed)[0].draw_table({"scene": "room"})
            if "room" not in [k for k, _ in table]:  # only faces in the table, and the image has none
                uniform += 1
                for p in probs:
                    self.assertAlmostEqual(p, 1.0 / len(options), places=12)
        self.assertGreater(uniform, 0)

    def test_a_focus_aspect_the_image_shows_is_always_in_the_table(self):
        without_focus = 0
        for seed in range(100):
            shown = {"scene": "beach", "facial_expression": "happy"}
            self.assertIn("happy", [k for k, _ in lookups(seed, focus=["facial_expression"])[0].draw_table(shown)[0]])
            without_focus += "happy" not in [k for k, _ in lookups(seed)[0].draw_table(shown)[0]]
        self.assertGreater(without_focus, 0)  # (so the focus is what put it there)

    def test_full_tables_hold_every_value_of_every_aspect_and_every_option(self):
        shown = {"scene": "beach"}
        full = partial = 0
        for seed in range(100):
            table, options, _ = lookups(seed, full_share=0.5)[0].draw_table(shown)
            if sorted(k for k, _ in table) == ALL_KEYS and len(options) == 4:
                full += 1
            else:
                partial += 1
            table, options, _ = lookups(seed, full_share=1.0)[0].draw_table(shown)
            self.assertEqual(sorted(k for k, _ in table), ALL_KEYS)
            self.assertEqual(len(options), 4)  # max_options
        self.assertGreater(full, 30)
        self.assertGreater(partial, 30)

    def test_match_targets_say_which_entries_the_image_shows(self):
        shown = {"scene": "beach", "facial_expression": "happy"}
        ev, entries = lookups(5, match=(90, 91))
        tail, _, (_, _, match) = ev.example(shown)
        self.assertEqual([i for i, _ in match], [i for i, t in enumerate(tail) if t >= EVIDENCE_BASE])
        for index, token in match:
            key = ALL_KEYS[entries.evidence[tail[index] - EVIDENCE_BASE][0]]
            self.assertEqual(token, 90 if key in shown.values() else 91, key)

    def test_entries_reach_the_lm_as_key_plus_weighted_words(self):
        ev, entries = lookups(3)
        tail, answer, (option_ids, probs) = ev.example({"scene": "beach", "facial_expression": "happy"})
        self.assertEqual(tail[0], 1)
        self.assertEqual(tail[-2:], [60, 61])
        self.assertIn(answer[0], option_ids)
        self.assertAlmostEqual(sum(probs), 1.0, places=9)
        table = torch.nn.Embedding(70, 8)
        codes = [t for t in tail if t >= EVIDENCE_BASE]
        self.assertEqual(len(codes), len(entries.evidence))
        out = entries.embed(table, torch.tensor([tail]))
        for pos, code in enumerate(tail):
            if code < EVIDENCE_BASE:
                torch.testing.assert_close(out[0, pos], table.weight[code])
                continue
            key, words, weights = entries.evidence[code - EVIDENCE_BASE]
            mixed = sum(w * table.weight[20 + i] for i, w in zip(words, weights))
            torch.testing.assert_close(out[0, pos], entries.key_map(table.weight[3 + key]) + entries.word_map(EVIDENCE_ROW_SCALE * mixed))
        entries.clear()
        self.assertEqual(entries.evidence, [])


class AnswerLossesTest(unittest.TestCase):
    def test_soft_answers_are_scored_by_kl_and_the_rest_by_cross_entropy(self):
        torch.manual_seed(0)
        cfg = TinyVLMConfig(vocab_size=70, image_size=16, patch_size=8, hidden_size=16, vision_dim=16, lm_layers=1)
        model = TinyVLM(cfg)
        prefix, visual = torch.tensor([2, 3]), torch.randn(2, cfg.visual_tokens, 16)
        soft = ([20, 21, 22], [0.5, 0.3, 0.2])
        batch = [(0, [4, 5], [20], soft), (1, [6], [30, 31])]
        losses, of_lookup, of_soft = answer_losses(model, prefix, visual, batch, torch.tensor([True, False]), 0, 9)
        self.assertEqual(losses.shape[0], 2 + 3)  # answer + end of turn per example
        self.assertEqual(of_lookup.tolist(), [True, True, False, False, False])
        self.assertEqual(of_soft.tolist(), [True, False, False, False, False])
        # recompute example 0's first answer position by hand: context [prefix; visual; 4, 5]
        emb = torch.cat([model.embed_tokens(prefix), visual[0], model.embed_tokens(torch.tensor([4, 5]))]).unsqueeze(0)
        hidden = model.hidden_states(emb, torch.ones(1, emb.shape[1], dtype=torch.long))
        logp = F.log_softmax(model.project_logits(hidden[0, -1:]), -1)[0]
        p = torch.tensor(soft[1])
        kl = (p * (p.log() - logp[torch.tensor(soft[0])])).sum()
        torch.testing.assert_close(losses[0], kl, rtol=1e-4, atol=1e-5)
        self.assertGreater(losses[0].item(), 0.0)
        # the end of turn after the sampled answer keeps its cross-entropy, as do the plain example's tokens
        losses_hard, _, no_soft = answer_losses(model, prefix, visual, [b[:3] for b in batch], torch.tensor([True, False]), 0, 9)
        torch.testing.assert_close(losses[1:], losses_hard[1:])
        self.assertFalse(no_soft.any())
        self.assertFalse(torch.isclose(losses[0], losses_hard[0]))

    def test_targets_inside_the_tail_are_read_at_their_own_positions(self):
        torch.manual_seed(1)
        cfg = TinyVLMConfig(vocab_size=70, image_size=16, patch_size=8, hidden_size=16, vision_dim=16, lm_layers=1)
        model = TinyVLM(cfg)
        prefix, visual = torch.tensor([2, 3]), torch.randn(1, cfg.visual_tokens, 16)
        soft = ([20, 21], [0.9, 0.1])
        with_match = [(0, [4, 5, 6], [20], soft + ([(1, 33)],))]
        losses, of_lookup, of_soft = answer_losses(model, prefix, visual, with_match, torch.tensor([True]), 0, 9)
        self.assertEqual(losses.shape[0], 3)  # the match target, the answer, its end of turn
        self.assertEqual(of_soft.tolist(), [False, True, False])
        emb = torch.cat([model.embed_tokens(prefix), visual[0], model.embed_tokens(torch.tensor([4, 5, 6]))]).unsqueeze(0)
        hidden = model.hidden_states(emb, torch.ones(1, emb.shape[1], dtype=torch.long))
        logits = model.project_logits(hidden[0])
        at_entry = 2 + cfg.visual_tokens + 1  # tail index 1
        torch.testing.assert_close(losses[0], F.cross_entropy(logits[at_entry:at_entry + 1], torch.tensor([33])))
        p = torch.tensor(soft[1])
        kl = (p * (p.log() - F.log_softmax(logits[-1], -1)[torch.tensor(soft[0])])).sum()
        torch.testing.assert_close(losses[1], kl, rtol=1e-4, atol=1e-5)
        plain, _, _ = answer_losses(model, prefix, visual, [(0, [4, 5, 6], [20], soft)], torch.tensor([True]), 0, 9)
        torch.testing.assert_close(plain, losses[1:])


if __name__ == "__main__":
    unittest.main()
