"""Table entries as single continuous tokens, for the pretraining lookups of `--lookup-entry-share`.

Why: MASP's stage 2 asks the frozen LM to answer with a word that its context (the soft prompt) ties to what the
image shows. Written as text ("beach: stone."), such a table needs the LM to carry a key across several positions
to its word before it can match the image, and a 4-layer LM does not learn that within the CPU budget
(docs/affect-world.md, the harness of session 9). An entry token holds the key and the word at one position:
A·e(key) + B·e(word), e the mean token embedding of the pieces, A and B learned here and not exported. The LM
then learns a one-hop skill: attend to the entries whose key the image shows, answer with their word. A soft
prompt lives in the same input space, so stage 2 can write its own entries there (or anything else).
In the token-id tails of the pretraining script, an entry is the integer BASE + key index * STRIDE + word index;
`embed` swaps those for the entry embeddings.

Evidence entries (`--lookup-evidence-share`, emotune_vlm/evidence.py) carry a whole row of weights over several
words instead of one word: A·e(key) + B·s·Σ_w r_w e(w) (s = EVIDENCE_ROW_SCALE), the form of one row of an
additive table such as the affect world's p(emotion | aspects). They are registered per batch (`register`, then
`clear`) and stand in the tails as EVIDENCE_BASE + their index."""
from typing import List

import torch
import torch.nn as nn

BASE = 10_000_000
STRIDE = 100_000
EVIDENCE_BASE = 20_000_000
# A row's weighted word sum is scaled down so that an entry starts with its key and its row in balance (a row of
# several weights would otherwise dwarf the key after the first RMSNorm, and the LM could not match keys).
EVIDENCE_ROW_SCALE = 0.25


def _padded(piece_lists: List[List[int]]):
    width = max(len(p) for p in piece_lists)
    ids = torch.zeros(len(piece_lists), width, dtype=torch.long)
    mask = torch.zeros(len(piece_lists), width)
    for i, p in enumerate(piece_lists):
        ids[i, :len(p)] = torch.tensor(p)
        mask[i, :len(p)] = 1.0
    return ids, mask


class EntryTokens(nn.Module):
    def __init__(self, key_pieces: List[List[int]], word_pieces: List[List[int]], dim: int):
        super().__init__()
        assert len(word_pieces) < STRIDE
        self.key_ids, self.key_mask = _padded(key_pieces)
        self.word_ids, self.word_mask = _padded(word_pieces)
        # Near (e(key) + e(word)) / sqrt(2) at the start: an entry begins as the blend of its two tokens.
        self.key_map = nn.Linear(dim, dim, bias=False)
        self.word_map = nn.Linear(dim, dim, bias=False)
        with torch.no_grad():
            for m in (self.key_map, self.word_map):
                m.weight.copy_(torch.eye(dim) / 2 ** 0.5 + torch.randn(dim, dim) * 0.01)
        self.evidence = []  # (key index, word indices, weights) of this batch's evidence entries

    def register(self, key_index: int, word_indices: List[int], weights: List[float]) -> int:
        """The code of a new evidence entry, valid until `clear`."""
        self.evidence.append((key_index, list(word_indices), list(weights)))
        return EVIDENCE_BASE + len(self.evidence) - 1

    def clear(self):
        self.evidence = []

    @staticmethod
    def code(key_index: int, word_index: int) -> int:
        return BASE + key_index * STRIDE + word_index

    def _mean_embedding(self, table: nn.Embedding, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (table(ids) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    def embed(self, table: nn.Embedding, tail: torch.Tensor) -> torch.Tensor:
        """Token embeddings of the tail ids [B,S], entry codes replaced by entry embeddings."""
        is_entry = tail >= BASE
        out = table(torch.where(is_entry, torch.zeros_like(tail), tail))
        if not bool(is_entry.any()):
            return out
        codes = tail[is_entry]
        plain = codes < EVIDENCE_BASE
        k = torch.where(plain, (codes - BASE) // STRIDE, torch.zeros_like(codes))
        w = torch.where(plain, (codes - BASE) % STRIDE, torch.zeros_like(codes))
        words = self._mean_embedding(table, self.word_ids[w], self.word_mask[w])
        if not bool(plain.all()):
            rows = [self.evidence[int(c) - EVIDENCE_BASE] for c in codes[~plain]]
            k = k.masked_scatter(~plain, torch.tensor([r[0] for r in rows], dtype=k.dtype))
            word_table = self._mean_embedding(table, self.word_ids, self.word_mask)  # [words, D]
            weights = torch.zeros(len(rows), word_table.shape[0])
            for i, (_, indices, values) in enumerate(rows):
                weights[i, torch.tensor(indices)] = torch.tensor(values, dtype=weights.dtype)
            words = words.masked_scatter((~plain).unsqueeze(-1), EVIDENCE_ROW_SCALE * (weights @ word_table))
        entries = self.key_map(self._mean_embedding(table, self.key_ids[k], self.key_mask[k])) + self.word_map(words)
        return out.masked_scatter(is_entry.unsqueeze(-1), entries.to(out.dtype))
