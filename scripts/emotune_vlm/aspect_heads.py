"""Auxiliary aspect heads: a direct training signal for the tiny VLM's vision tower during pretraining.

Why: trained only through the LM's next-token loss, the vision tower of the tiny VLM learned the global cues
(scene, brightness, colorfulness) but not the small ones (faces, poses, objects) within the 2-core budget; the
answer word of a face is one token among many and its gradient reaches the tower through four decoder layers.
Linear heads on the pooled visual tokens (mean and max over the 16 tokens V_global, i.e. what the LM reads)
classify every aspect the annotation states -- the same facts the aspect answers state, never an emotion -- and
give the tower a short gradient path. Measured on the affect world: the 3-layer tower then reads faces and
actions in about five minutes (docs/affect-world.md). The heads are dropped from the exported bundle.
"""
import math
import time
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F


def _bin(value: float) -> int:
    return min(4, int(value / 0.2 + 1e-9))


class AspectLabels:
    """The aspect annotation of a world's images as class indices (absent face or person: class 0)."""

    def __init__(self, info: Dict[str, List[str]], rows: List[dict]):
        self.scenes = info["scenes"]
        self.objects = info["objects"]
        self.expressions = ["none"] + info["facial_expressions"]
        self.actions = ["none"] + info["human_actions"]
        aspects = [r["aspects"] for r in rows]
        self.targets = {
            "scene": torch.tensor([self.scenes.index(a["scene"]) for a in aspects]),
            "object": torch.tensor([[float(o in a["object"]) for o in self.objects] for a in aspects]),
            "facial_expression": torch.tensor([self.expressions.index(a.get("facial_expression", "none")) for a in aspects]),
            "human_action": torch.tensor([self.actions.index(a.get("human_action", "none")) for a in aspects]),
            "brightness": torch.tensor([_bin(a["brightness"]) for a in aspects]),
            "colorfulness": torch.tensor([_bin(a["colorfulness"]) for a in aspects]),
        }

    def classes(self) -> Dict[str, int]:
        return {"scene": len(self.scenes), "object": len(self.objects), "facial_expression": len(self.expressions),
                "human_action": len(self.actions), "brightness": 5, "colorfulness": 5}


class AspectHeads(nn.Module):
    def __init__(self, hidden_size: int, classes: Dict[str, int]):
        super().__init__()
        self.heads = nn.ModuleDict({k: nn.Linear(2 * hidden_size, n) for k, n in classes.items()})

    def forward(self, visual: torch.Tensor) -> Dict[str, torch.Tensor]:
        pooled = torch.cat([visual.mean(1), visual.amax(1)], -1)
        return {k: h(pooled) for k, h in self.heads.items()}

    def loss(self, visual: torch.Tensor, labels: AspectLabels, index: torch.Tensor) -> torch.Tensor:
        total = visual.new_zeros(())
        for k, logits in self.forward(visual).items():
            target = labels.targets[k][index]
            total = total + (F.binary_cross_entropy_with_logits(logits, target) if k == "object"
                             else F.cross_entropy(logits, target))
        return total

    @torch.no_grad()
    def accuracy(self, visual: torch.Tensor, labels: AspectLabels) -> Dict[str, float]:
        """Per aspect, in %: scene and bins over all images, face and action over the images that have one,
        objects per object kind (present or not, over all images and kinds) and as the exact set."""
        out = {}
        for k, logits in self.forward(visual).items():
            target = labels.targets[k]
            if k == "object":
                hit = (logits > 0).float() == target
                out["object (per kind)"] = 100 * hit.float().mean().item()
                out["object (exact set)"] = 100 * hit.all(1).float().mean().item()
                continue
            keep = target > 0 if k in ("facial_expression", "human_action") else torch.ones_like(target, dtype=torch.bool)
            out[k] = 100 * (logits.argmax(1) == target)[keep].float().mean().item()
        return out


def vision_parameters(model):
    return [p for n, p in model.named_parameters() if n.startswith(("patch", "vision", "merger"))]


def warm_up_vision(model, heads, pixels, labels, args, say):
    """Step 3a of scripts/pretrain_tiny_vlm.py: the vision tower and merger alone learn the annotation's aspects
    through the heads, a short gradient path to faces, poses and objects."""
    opt = torch.optim.AdamW(vision_parameters(model) + list(heads.parameters()), lr=args.lr, weight_decay=0.01,
                            betas=(0.9, 0.98))
    gen = torch.Generator().manual_seed(args.seed + 2)
    start, step, avg = time.time(), 0, None
    while (args.vision_steps and step < args.vision_steps) or (
            not args.vision_steps and time.time() - start < args.vision_minutes * 60):
        index = torch.randint(0, len(pixels), (64,), generator=gen)
        loss = heads.loss(model.encode_image(pixels[index]), labels, index)
        frac = step / args.vision_steps if args.vision_steps else min(1.0, (time.time() - start) / (args.vision_minutes * 60))
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        step += 1
        if step % 100 == 0:
            say(f"vision step {step} aspect loss {avg:.4f} elapsed {(time.time() - start) / 60:.1f} min")
    say(f"vision warm-up done: {step} steps, {(time.time() - start) / 60:.1f} min")
