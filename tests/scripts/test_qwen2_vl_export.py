#!/usr/bin/python3
"""scripts/export/export_qwen2_vl.py against Hugging Face's Qwen2VLForConditionalGeneration: the two fixture
checkpoints (tests/fixtures/qwen2_vl_*/hf, random-init models of HF's class) export to bundles whose logits
and image features match HF's goldens within 1e-4 in both position modes; check_golden.py fails when one
weight is corrupted; the exporter refuses a checkpoint with a missing, unexpected or misshapen tensor."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import torch  # noqa: E402

from emotune_vlm.safetensors_io import SafetensorsFile, write_safetensors  # noqa: E402

FIXTURES = {"qwen2_vl_square": "84x84", "qwen2_vl_wide": "56x112"}
PY = "/usr/bin/python3"


def run(*args):
    return subprocess.run([PY, *args], capture_output=True, text=True)


def export(hf_dir, out, size):
    return run(os.path.join(ROOT, "scripts/export/export_qwen2_vl.py"), hf_dir, out, "--image-size", size, "--dtype", "fp32")


def check(bundle, golden):
    return run(os.path.join(ROOT, "scripts/export/check_golden.py"), "--bundle", bundle, "--golden", golden)


def rewrite_checkpoint(src_hf, dst_hf, edit):
    """A copy of a fixture checkpoint whose tensors went through edit(dict) -> dict."""
    shutil.copytree(src_hf, dst_hf)
    f = SafetensorsFile(os.path.join(src_hf, "model.safetensors"))
    tensors = edit({n: f.tensor(n).clone() for n in f.names()})
    write_safetensors(os.path.join(dst_hf, "model.safetensors"), tensors, f.metadata)


class Qwen2VLExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def fixture(self, name):
        return os.path.join(ROOT, "tests/fixtures", name)

    def test_bundles_match_the_hugging_face_goldens_in_both_position_modes(self):
        for name, size in FIXTURES.items():
            bundle = os.path.join(self.tmp, name)
            r = export(os.path.join(self.fixture(name), "hf"), bundle, size)
            self.assertEqual(r.returncode, 0, r.stderr)
            for mode in ("plain", "mrope"):
                r = check(bundle, os.path.join(self.fixture(name), f"golden_{mode}.safetensors"))
                self.assertEqual(r.returncode, 0, f"{name}/{mode}: {r.stdout}{r.stderr}")
                self.assertIn("logits", r.stdout)

    def test_one_corrupted_weight_fails_the_check(self):
        name = "qwen2_vl_square"
        hf = os.path.join(self.tmp, "hf")

        def corrupt(t):  # one element of one layer's k bias: small, deep inside the model
            t["model.layers.1.self_attn.k_proj.bias"][3] += 0.5
            return t
        rewrite_checkpoint(os.path.join(self.fixture(name), "hf"), hf, corrupt)
        bundle = os.path.join(self.tmp, "bundle")
        self.assertEqual(export(hf, bundle, FIXTURES[name]).returncode, 0)
        r = check(bundle, os.path.join(self.fixture(name), "golden_mrope.safetensors"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_a_bundle_of_another_size_is_an_error_not_a_pass(self):
        bundle = os.path.join(self.tmp, "bundle")
        self.assertEqual(export(os.path.join(self.fixture("qwen2_vl_square"), "hf"), bundle, "56x56").returncode, 0)
        r = check(bundle, os.path.join(self.fixture("qwen2_vl_square"), "golden_plain.safetensors"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("image.height/width", r.stderr)

    def test_missing_unexpected_and_misshapen_tensors_are_named(self):
        src = os.path.join(self.fixture("qwen2_vl_square"), "hf")
        cases = {
            "missing": (lambda t: {k: v for k, v in t.items() if k != "visual.merger.ln_q.bias"}, "ln_q"),
            "unexpected": (lambda t: {**t, "model.layers.0.extra.weight": torch.zeros(2)}, "model.layers.0.extra.weight"),
            "shape": (lambda t: {**t, "model.norm.weight": torch.ones(65)}, "model.norm.weight"),
        }
        for case, (edit, needle) in cases.items():
            hf = os.path.join(self.tmp, case)
            rewrite_checkpoint(src, hf, edit)
            r = export(hf, os.path.join(self.tmp, case + "_out"), "84x84")
            self.assertNotEqual(r.returncode, 0, case)
            self.assertIn(needle, r.stderr, case)
            self.assertNotIn("Traceback", r.stderr, case)

    def test_image_size_must_be_a_multiple_of_28(self):
        r = export(os.path.join(self.fixture("qwen2_vl_square"), "hf"), os.path.join(self.tmp, "b"), "84x90")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("multiples of 28", r.stderr)

    def test_bundle_yaml_names_the_chat_pieces_and_the_merged_grid(self):
        bundle = os.path.join(self.tmp, "bundle")
        self.assertEqual(export(os.path.join(self.fixture("qwen2_vl_wide"), "hf"), bundle, "56x112").returncode, 0)
        with open(os.path.join(bundle, "bundle.yaml"), encoding="utf-8") as f:
            text = f.read()
        self.assertIn("image_grid: [2, 4]", text)
        self.assertIn("visual_tokens: 8", text)
        self.assertIn('image_open: "<|vision_start|>"', text)
        self.assertIn(json.dumps("<|im_start|>assistant\n"), text)


if __name__ == "__main__":
    unittest.main()
