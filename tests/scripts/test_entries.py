#!/usr/bin/python3
"""scripts/emotune_vlm/entries.py: an entry code becomes A·mean e(key pieces) + B·mean e(word pieces) at its own
position, every other position keeps its token embedding, and gradients reach the maps and only the pieces used."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import torch  # noqa: E402

from emotune_vlm.entries import EntryTokens  # noqa: E402


class EntryTokensTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.table = torch.nn.Embedding(20, 8)
        # keys: "beach" = [3], "amusement park" = [4, 5]; words: [6], [7, 8, 9]
        self.entries = EntryTokens([[3], [4, 5]], [[6], [7, 8, 9]], 8)

    def test_entry_positions_hold_the_blend_and_the_rest_their_tokens(self):
        tail = torch.tensor([[1, EntryTokens.code(1, 1), 2], [EntryTokens.code(0, 0), 10, 11]])
        out = self.entries.embed(self.table, tail)
        e = self.table.weight
        want_11 = self.entries.key_map(e[[4, 5]].mean(0)) + self.entries.word_map(e[[7, 8, 9]].mean(0))
        want_00 = self.entries.key_map(e[3]) + self.entries.word_map(e[6])
        torch.testing.assert_close(out[0, 1], want_11)
        torch.testing.assert_close(out[1, 0], want_00)
        for b, s in ((0, 0), (0, 2), (1, 1), (1, 2)):
            torch.testing.assert_close(out[b, s], e[tail[b, s]])

    def test_gradients_reach_the_maps_and_only_the_pieces_used(self):
        tail = torch.tensor([[1, EntryTokens.code(0, 1)]])
        self.entries.embed(self.table, tail).sum().backward()
        self.assertGreater(self.entries.key_map.weight.grad.abs().sum().item(), 0)
        self.assertGreater(self.entries.word_map.weight.grad.abs().sum().item(), 0)
        used = {1, 3, 7, 8, 9}
        for row in range(20):
            moved = self.table.weight.grad[row].abs().sum().item() > 0
            self.assertEqual(moved, row in used, f"row {row}")

    def test_a_tail_without_entries_is_the_plain_embedding(self):
        tail = torch.tensor([[1, 2, 3]])
        self.assertTrue(torch.equal(self.entries.embed(self.table, tail), self.table(tail)))


if __name__ == "__main__":
    unittest.main()
