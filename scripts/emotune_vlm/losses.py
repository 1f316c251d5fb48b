"""The pretraining loss: cross-entropy of the answers (and their end of turn) of a batch, read after
[prefix; visual tokens; tail]. An example that knows its whole answer distribution (an evidence lookup,
emotune_vlm/evidence.py) is scored at its first answer position by the KL divergence from that distribution
instead of the cross-entropy of its one sampled answer (same gradient as the soft cross-entropy; 0 at a perfect
fit, so the logged lookup loss shows how well the rule is learnt)."""
import torch
import torch.nn.functional as F


def answer_losses(model, prefix_t, visual, batch, is_lookup, pad_id, eot, entries=None):
    """Per-token losses of the answers of a batch of (image, tail ids, answer ids[, (option ids, probabilities[,
    [(tail index, target token)]])]) -- the last, targets read at positions inside the tail (evidence.py's matching),
    which of those tokens belong to lookups, and which are scored against a whole distribution."""
    tails = [b[1] + b[2] + [eot] for b in batch]
    n_ans = [len(b[2]) + 1 for b in batch]
    width = max(len(t) for t in tails)
    B = len(batch)
    tail = torch.full((B, width), pad_id, dtype=torch.long)
    tmask = torch.zeros(B, width, dtype=torch.long)
    target = torch.full((B, width), -100, dtype=torch.long)
    for b, t in enumerate(tails):
        tail[b, :len(t)] = torch.tensor(t)
        tmask[b, :len(t)] = 1
        target[b, len(t) - n_ans[b]:len(t)] = torch.tensor(t[len(t) - n_ans[b]:])
        if len(batch[b]) > 3 and len(batch[b][3]) > 2:  # targets at positions inside the tail (entry matching)
            for index, token in batch[b][3][2]:
                target[b, index + 1] = token  # read from the hidden state at `index`
    n_prefix = len(prefix_t) + visual.shape[1]
    tail_emb = entries.embed(model.tok_embed, tail) if entries is not None else model.embed_tokens(tail)
    emb = torch.cat([model.embed_tokens(prefix_t.expand(B, -1)), visual, tail_emb], 1)
    mask = torch.cat([torch.ones(B, n_prefix, dtype=torch.long), tmask], 1)
    full_target = torch.cat([torch.full((B, n_prefix), -100, dtype=torch.long), target], 1)
    hidden = model.hidden_states(emb, mask)
    sel = full_target[:, 1:] != -100
    logits = model.project_logits(hidden[:, :-1][sel])
    token_loss = F.cross_entropy(logits, full_target[:, 1:][sel], reduction="none")
    soft = [b for b, item in enumerate(batch) if len(item) > 3]
    of_soft = torch.zeros_like(token_loss, dtype=torch.bool)
    if soft:  # the row of `logits` that predicts an example's first answer token
        row_of = sel.flatten().long().cumsum(0).view_as(sel) - 1
        first = torch.stack([row_of[b, n_prefix + len(tails[b]) - n_ans[b] - 1] for b in soft])
        losses = []
        for b, row in zip(soft, first.tolist()):
            option_ids, probs = batch[b][3][:2]
            logp = F.log_softmax(logits[row], -1)[torch.tensor(option_ids)]
            p = torch.tensor(probs)
            losses.append((p * (p.clamp_min(1e-12).log() - logp)).sum())  # KL: 0 when the LM matches the rule
        token_loss = token_loss.index_put((first,), torch.stack(losses))
        of_soft[first] = True
    return token_loss, is_lookup.view(B, 1).expand_as(sel)[sel], of_soft
