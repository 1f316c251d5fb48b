"""Re-exports a bundle's vlm.pt with the current scripts/emotune_vlm/tiny_vlm.py, keeping its weights.

Used when the architecture file gains a method (e.g. last_attention) but the trained weights stay: the old
module's state dict is loaded into a freshly built TinyVLM of the same configuration and scripted again. The
new module's encode_image and forward are checked to be bit-identical to the old one's on random inputs.

  /usr/bin/python3 scripts/reexport_bundle.py models/tiny
"""
import argparse
import os
import sys

import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emotune_vlm.tiny_vlm import TinyVLM, TinyVLMConfig, script  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    args = ap.parse_args()
    path = os.path.join(args.bundle, "vlm.pt")
    old = torch.jit.load(path)
    with open(os.path.join(args.bundle, "architecture.yaml")) as f:
        cfg = TinyVLMConfig(**yaml.safe_load(f))
    model = TinyVLM(cfg)
    model.load_state_dict(old.state_dict())
    new = script(model)
    torch.manual_seed(0)
    pixels = torch.randn(2, 3, cfg.image_size, cfg.image_size)
    embeds = torch.randn(2, 12, cfg.hidden_size)
    mask = torch.ones(2, 12, dtype=torch.int64)
    mask[1, :3] = 0
    with torch.no_grad():
        assert torch.equal(old.encode_image(pixels), new.encode_image(pixels)), "encode_image changed"
        assert torch.equal(old.forward(embeds, mask), new.forward(embeds, mask)), "forward changed"
        att = new.last_attention(embeds, mask)
        assert att.shape == (2, cfg.lm_heads, 12, 12)
        past = new.prefill(embeds[:, :5], mask[:, :5])
        rest = new.hidden_states_cached(past, embeds[:, 5:], mask)
        assert (rest - new.hidden_states(embeds, mask)[:, 5:]).abs().max() < 1e-4, "prefix cache disagrees"
    new.save(path + ".tmp")
    os.replace(path + ".tmp", path)
    print(f"re-exported {path}: weights, encode_image and forward unchanged; methods as in tiny_vlm.py")


if __name__ == "__main__":
    main()
