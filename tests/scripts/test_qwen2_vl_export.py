#!/usr/bin/python3
"""scripts/export/export_qwen2_vl.py against Hugging Face's Qwen2VLForConditionalGeneration: the two fixture
checkpoints (tests/fixtures/qwen2_vl_*/hf, random-init models of HF's class) export to bundles whose logits
and image features match HF's goldens within 1e-4 in both position modes; check_golden.py fails when one
weight is corrupted; the exporter refuses a checkpoint with a missing, unexpected or misshapen tensor."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import yaml  # noqa: E402

from export_support import ROOT, check, rewrite_checkpoint, run  # noqa: E402
from export_support import export as export_with  # noqa: E402
from emotune_vlm.safetensors_io import SafetensorsFile, write_safetensors  # noqa: E402

FIXTURES = {"qwen2_vl_square": "84x84", "qwen2_vl_wide": "56x112"}


def export(hf_dir, out, size):
    return export_with("export_qwen2_vl.py", hf_dir, out, size)


class Qwen2VLShapeTest(unittest.TestCase):
    """The published configs' keys (hub-style: in_chans, spatial_patch_size, rope_scaling type mrope), which the
    fixtures' save_pretrained configs leave out."""

    def test_the_published_2b_and_7b_configs(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts", "export"))
        from make_random_qwen2_vl import config_json
        from emotune_vlm.qwen2_vl import Qwen2VLShape
        s2, s7 = Qwen2VLShape(config_json("2b"), 448, 448), Qwen2VLShape(config_json("7b"), 448, 672)
        self.assertEqual((s2.hidden, s2.heads, s2.kv_heads, s2.head_dim, s2.tied), (1536, 12, 2, 128, True))
        self.assertEqual((s7.hidden, s7.heads, s7.kv_heads, s7.head_dim, s7.tied), (3584, 28, 4, 128, False))
        self.assertEqual(s7.mrope_section, [16, 24, 24])
        self.assertEqual((s7.patch, s7.merge, s7.in_channels, s7.vision_dim, s7.vision_mlp), (14, 2, 3, 1280, 5120))
        self.assertEqual((s2.visual_tokens, s7.visual_tokens, s7.grid_h, s7.grid_w), (256, 384, 32, 48))
        self.assertEqual(s7.rms_eps, 1e-6)

    def test_unsupported_or_inconsistent_configs_are_refused_by_key(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts", "export"))
        from make_random_qwen2_vl import config_json
        from emotune_vlm.qwen2_vl import Qwen2VLShape
        bad = {"rope_scaling": {"type": "yarn", "factor": 4.0}, "num_key_value_heads": 5, "hidden_size": 1000}
        for key, value in bad.items():
            c = config_json("2b")
            c[key] = value
            with self.assertRaises(ValueError, msg=key) as e:
                Qwen2VLShape(c, 448, 448)
            self.assertIn(key.split("_")[0], str(e.exception))
        c = config_json("2b")
        del c["vocab_size"]
        with self.assertRaises(KeyError):
            Qwen2VLShape(c, 448, 448)


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

    def test_a_sharded_checkpoint_exports_the_same_bundle_and_its_index_is_checked(self):
        src = os.path.join(self.fixture("qwen2_vl_square"), "hf")
        f = SafetensorsFile(os.path.join(src, "model.safetensors"))
        names = sorted(f.names())
        halves = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
                  "model-00002-of-00002.safetensors": names[len(names) // 2:]}

        def sharded(case, weight_map_edit=None, index_text=None):
            hf = os.path.join(self.tmp, case)
            shutil.copytree(src, hf)
            os.remove(os.path.join(hf, "model.safetensors"))
            for shard, part in halves.items():
                write_safetensors(os.path.join(hf, shard), {n: f.tensor(n) for n in part}, {"format": "pt"})
            weight_map = {n: s for s, part in halves.items() for n in part}
            if weight_map_edit:
                weight_map_edit(weight_map)
            with open(os.path.join(hf, "model.safetensors.index.json"), "w") as out:
                out.write(index_text if index_text is not None else json.dumps({"weight_map": weight_map}))
            return hf, export(hf, os.path.join(self.tmp, case + "_bundle"), "84x84")

        _, r = sharded("ok")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = check(os.path.join(self.tmp, "ok_bundle"), os.path.join(self.fixture("qwen2_vl_square"), "golden_mrope.safetensors"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cases = {
            "unlisted": (lambda m: m.pop(names[0]), None, "does not list"),
            "wrong_shard": (lambda m: m.update({names[0]: "model-00002-of-00002.safetensors"}), None, "does not hold it"),
            "missing_shard": (lambda m: m.update({names[0]: "model-00009-of-00009.safetensors"}), None, "not found"),
            "bad_json": (None, "{weight_map: ", "model.safetensors.index.json: not valid JSON"),
            "not_an_object": (None, "[1, 2]", "expected an object with a 'weight_map'"),
        }
        for case, (edit, text, needle) in cases.items():
            _, r = sharded(case, edit, text)
            self.assertNotEqual(r.returncode, 0, case)
            self.assertIn(needle, r.stderr, case)
            self.assertNotIn("Traceback", r.stderr, case)

    def test_a_bf16_export_matches_within_bf16_rounding_and_says_why_it_misses_1e4(self):
        bundle = os.path.join(self.tmp, "bf16")
        r = run(os.path.join(ROOT, "scripts/export/export_qwen2_vl.py"), os.path.join(self.fixture("qwen2_vl_wide"), "hf"),
                bundle, "--image-size", "56x112", "--dtype", "bf16")
        self.assertEqual(r.returncode, 0, r.stderr)
        golden = os.path.join(self.fixture("qwen2_vl_wide"), "golden_mrope.safetensors")
        r = run(os.path.join(ROOT, "scripts/export/check_golden.py"), "--bundle", bundle, "--golden", golden, "--tolerance", "3e-2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = check(bundle, golden)
        self.assertEqual(r.returncode, 1)
        self.assertIn("weights are bf16", r.stderr)

    def test_image_size_must_be_a_multiple_of_28(self):
        r = export(os.path.join(self.fixture("qwen2_vl_square"), "hf"), os.path.join(self.tmp, "b"), "84x90")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("multiples of 28", r.stderr)
        r = export(os.path.join(self.fixture("qwen2_vl_square"), "hf"), os.path.join(self.tmp, "b"), "0x0")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("multiples of 28", r.stderr)

    def test_bundle_yaml_names_the_chat_pieces_and_the_merged_grid(self):
        bundle = os.path.join(self.tmp, "bundle")
        self.assertEqual(export(os.path.join(self.fixture("qwen2_vl_wide"), "hf"), bundle, "56x112").returncode, 0)
        with open(os.path.join(bundle, "bundle.yaml"), encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        self.assertEqual(spec["positions"], {"kind": "mrope", "image_grid": [2, 4]})
        self.assertEqual(spec["image"]["visual_tokens"], 8)
        self.assertEqual(spec["chat_template"]["image_open"], "<|vision_start|>")
        self.assertEqual(spec["chat_template"]["assistant_start"], "<|im_start|>assistant\n")
        self.assertEqual(spec["special_tokens"], {"pad": 0, "eos": 2})


if __name__ == "__main__":
    unittest.main()
