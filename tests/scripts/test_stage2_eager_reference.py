#!/usr/bin/python3
"""bench/stage2_eager_reference.py (the eager stage-2 baseline) on the tiny Qwen2-VL fixture: after one backward
only the soft prompt's rows of the [V+L, D] embedding gradient are non-zero, and with autocast off and lr 0 the
step-0 loss of its command line equals the model's own forward with the prompt rows put in place by hand."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from export_support import PY, ROOT, fixture  # noqa: E402
from emotune_vlm.safetensors_io import write_safetensors  # noqa: E402

SCRIPT = os.path.join(ROOT, "bench", "stage2_eager_reference.py")
HF = os.path.join(fixture("qwen2_vl_square"), "hf")  # 84x84: a 3x3 merged grid, 9 visual tokens; V 4096, D 64
spec = importlib.util.spec_from_file_location("stage2_eager_reference", SCRIPT)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def make_dump(path, samples=3, rows=4, lr=0.0, positions="mrope", seed=0):
    """Stage 2's paper layout: [prefix, image_open] [9 visual] [image_close] [L prompt] [question] [2 labels]."""
    g = torch.Generator().manual_seed(seed)
    tensors = {"soft_prompt": torch.randn(rows, 64, generator=g) * 0.02}
    for i in range(samples):
        text = lambda n: torch.randint(7, 4096, (n,), generator=g).tolist()  # noqa: E731
        parts = [(text(4) + [3], 0), ([-1] * 9, 2), ([4], 0), ([-1] * rows, 3), (text(6), 0), (text(2), 4)]
        ids = torch.tensor(sum((p for p, _ in parts), []))
        seg = torch.tensor(sum(([c] * len(p) for p, c in parts), []), dtype=torch.uint8)
        pos, at = [], 0  # HF get_rope_index: text +1 on all axes, the image (t, h, w) = start + (0, row, col)
        for p, c in parts:
            if c == 2:
                pos += [[at, at + r, at + q] for r in range(3) for q in range(3)]
                at += 3
            else:
                pos += [[at + j] * 3 for j in range(len(p))]
                at += len(p)
        pos = torch.tensor(pos).t().contiguous()
        tensors.update({f"sample.{i}.token_ids": ids, f"sample.{i}.segments": seg,
                        f"sample.{i}.loss_mask": (seg == 4).to(torch.uint8),
                        f"sample.{i}.position_ids": pos if positions == "mrope" else torch.arange(len(ids)),
                        f"sample.{i}.pixels": torch.randn(3, 84, 84, generator=g)})
    meta = {"samples": str(samples), "positions": positions, "lr": repr(lr), "beta1": "0.9", "beta2": "0.999",
            "eps": "1e-08", "weight_decay": "0.0", "image_height": "84", "image_width": "84"}
    write_safetensors(path, tensors, meta)


class Stage2EagerReferenceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.dump = os.path.join(self.tmp, "dump.safetensors")
        self.addCleanup(shutil.rmtree, self.tmp)

    def model(self):
        shape = ref.read_shape(HF, 84, 84)
        return shape, ref.load_model(HF, shape, torch.float32)[0]

    def test_only_the_prompt_rows_of_the_embedding_gradient_are_non_zero(self):
        make_dump(self.dump, positions="plain")
        soft, samples, _ = ref.read_dump(self.dump)
        shape, model = self.model()
        emb = ref.extend_embedding(model, soft)
        self.assertEqual(list(emb.weight.shape), [4096 + 4, 64])
        self.assertTrue(all(not p.requires_grad for n, p in model.named_parameters() if n != "model.embed_tokens.weight"))
        x = ref.step_inputs(samples[0], 0, shape.vocab, 4, shape.visual_tokens, torch.device("cpu"))
        ref.step_loss(model, x, "cpu", True).backward()
        nonzero = emb.weight.grad.abs().sum(1) > 0
        self.assertFalse(nonzero[:4096].any())
        self.assertTrue(nonzero[4096:].all())

    def test_step_zero_loss_equals_the_models_forward_with_the_prompt_put_in_by_hand(self):
        make_dump(self.dump, lr=0.0, positions="mrope")
        out = os.path.join(self.tmp, "result.json")
        r = subprocess.run([PY, SCRIPT, "--hf-dir", HF, "--samples", self.dump, "--steps", "4", "--warmup", "1",
                            "--out", out, "--no-autocast"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            result = json.load(f)
        self.assertEqual((len(result["losses"]), result["autocast"]), (4, "off"))
        soft, samples, _ = ref.read_dump(self.dump)
        _, model = self.model()
        for k in (0, 3):  # step 3 is sample 0 again: lr 0 leaves the prompt as it was
            s = samples[k % 3]
            seg, ids = s["segments"].long(), s["token_ids"].clone()
            with torch.no_grad():
                embeds = model.embed_tokens(ids.clamp(min=0))[None].clone()
                embeds[0, seg == 2] = model.encode_image(s["pixels"][None])[0]
                embeds[0, seg == 3] = soft
                logits = model(embeds, torch.ones(1, len(ids), dtype=torch.long), s["position_ids"].view(3, 1, -1))
            t = torch.nonzero(s["loss_mask"]).view(-1)
            expected = -F.log_softmax(logits[0, t - 1], -1).gather(1, ids[t].view(-1, 1)).mean()
            self.assertAlmostEqual(result["losses"][k], expected.item(), delta=1e-5)


if __name__ == "__main__":
    unittest.main()
