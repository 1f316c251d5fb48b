#!/usr/bin/python3
"""scripts/export/export_llava_next.py against Hugging Face's LlavaNextForConditionalGeneration: the two fixture
checkpoints (tests/fixtures/llava_next_*/hf, random-init models of HF's class) export to bundles whose image
features, logits and last-layer attention match HF's goldens within 1e-4; a corrupted weight fails the check while
one of the vision layers LLaVA never reads does not; bad checkpoints, resolutions, sliding windows and chat templates
are refused by name; the published 7B configuration gives 2,928 visual tokens at 672x672."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import yaml  # noqa: E402

from export_support import check, fixture, rewrite_checkpoint  # noqa: E402
from export_support import export as export_with  # noqa: E402
from emotune_vlm.llava_next import LlavaNextShape, best_resolution  # noqa: E402
from emotune_vlm.safetensors_io import SafetensorsFile  # noqa: E402

FIXTURES = {"llava_next_square": "56x56", "llava_next_wide": "28x56"}
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "export"))
from make_random_llava_next import LLAVA_V16_MISTRAL_7B as PUBLISHED_7B, tensor_shapes  # noqa: E402


def export(hf_dir, out, size):
    return export_with("export_llava_next.py", hf_dir, out, size)


class LlavaNextShapeTest(unittest.TestCase):
    def test_the_published_7b_config(self):
        s = LlavaNextShape(PUBLISHED_7B, 672, 672)
        self.assertEqual((s.hidden, s.heads, s.kv_heads, s.head_dim, s.qkv_bias), (4096, 32, 8, 128, False))
        self.assertEqual((s.tile, s.patch, s.side, s.feature_layers), (336, 14, 24, 23))
        self.assertEqual((s.grid_h, s.grid_w, s.visual_tokens), (2, 2, 2928))
        self.assertEqual(LlavaNextShape(PUBLISHED_7B, 336, 672).visual_tokens, 576 + 24 * 49)
        self.assertEqual(s.mrope_section, [64, 0, 0])  # 1-D RoPE

    def test_the_published_tensor_layout_is_hugging_faces(self):
        """make_random_llava_next.py's names and shapes (written from the published layout) equal HF's class's
        on a fixture's config, so a random 7B checkpoint is what a real one looks like to the exporter."""
        with open(os.path.join(fixture("llava_next_wide"), "hf", "config.json")) as f:
            config = json.load(f)
        f = SafetensorsFile(os.path.join(fixture("llava_next_wide"), "hf", "model.safetensors"))
        self.assertEqual({n: list(f.shape(n)) for n in f.names()}, dict(tensor_shapes(config)))

    def test_an_image_at_a_pinpoint_is_given_that_pinpoint(self):
        for h, w in PUBLISHED_7B["image_grid_pinpoints"]:
            self.assertEqual(best_resolution(h, w, PUBLISHED_7B["image_grid_pinpoints"]), [h, w])

    def test_unsupported_configs_and_sizes_are_refused_by_key(self):
        cases = {
            "vision_feature_select_strategy": ({"vision_feature_select_strategy": "full"}, 672, 672),
            "rope_scaling": ({"text_config": dict(PUBLISHED_7B["text_config"], rope_scaling={"type": "linear"})}, 672, 672),
            "text_config.model_type": ({"text_config": dict(PUBLISHED_7B["text_config"], model_type="gemma")}, 672, 672),
            "image_grid_pinpoints": ({}, 448, 448),
        }
        for needle, (edit, h, w) in cases.items():
            with self.assertRaises(ValueError, msg=needle) as e:
                LlavaNextShape(dict(PUBLISHED_7B, **edit), h, w)
            self.assertIn(needle, str(e.exception))


class LlavaNextExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def rewrite(self, edit, config_edit=None):
        """A copy of the square fixture's checkpoint whose tensors (and config.json) went through the edits."""
        hf = os.path.join(self.tmp, "hf")
        rewrite_checkpoint(os.path.join(fixture("llava_next_square"), "hf"), hf, edit)
        if config_edit:
            path = os.path.join(hf, "config.json")
            with open(path) as c:
                config = json.load(c)
            config_edit(config)
            with open(path, "w") as c:
                json.dump(config, c)
        return hf

    def test_bundles_match_the_hugging_face_goldens_with_attention(self):
        for name, size in FIXTURES.items():
            bundle = os.path.join(self.tmp, name)
            r = export(os.path.join(fixture(name), "hf"), bundle, size)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = check(bundle, os.path.join(fixture(name), "golden_plain.safetensors"))
            self.assertEqual(r.returncode, 0, f"{name}: {r.stdout}{r.stderr}")
            self.assertIn("last_attention", r.stdout)

    def test_a_corrupted_weight_fails_and_an_unread_layer_does_not_matter(self):
        golden = os.path.join(fixture("llava_next_square"), "golden_plain.safetensors")
        cases = {"image_newline": 1, "vision_tower.vision_model.encoder.layers.0.mlp.fc1.bias": 1,
                 "vision_tower.vision_model.encoder.layers.1.mlp.fc1.bias": 0}  # layer 1 is after the feature layer
        for tensor, expected in cases.items():
            def corrupt(t):
                t[tensor][2] += 0.5
                return t
            hf = self.rewrite(corrupt)
            bundle = os.path.join(self.tmp, "bundle")
            self.assertEqual(export(hf, bundle, "56x56").returncode, 0)
            r = check(bundle, golden)
            self.assertEqual(r.returncode, expected, f"{tensor}: {r.stdout}{r.stderr}")
            shutil.rmtree(hf)

    def test_missing_unexpected_and_misshapen_tensors_are_named(self):
        cases = {
            "missing": (lambda t: {k: v for k, v in t.items() if k != "image_newline"}, "image_newline"),
            "unexpected": (lambda t: {**t, "language_model.model.layers.0.extra.weight": torch.zeros(2)}, "extra.weight"),
            "shape": (lambda t: {**t, "language_model.model.norm.weight": torch.ones(65)}, "language_model.model.norm.weight"),
        }
        for case, (edit, needle) in cases.items():
            hf = self.rewrite(edit)
            r = export(hf, os.path.join(self.tmp, case + "_out"), "56x56")
            self.assertNotEqual(r.returncode, 0, case)
            self.assertIn(needle, r.stderr, case)
            self.assertNotIn("Traceback", r.stderr, case)
            shutil.rmtree(hf)

    def test_resolutions_off_the_pinpoints_and_short_sliding_windows_are_refused(self):
        r = export(os.path.join(fixture("llava_next_square"), "hf"), os.path.join(self.tmp, "b"), "42x42")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("image_grid_pinpoints", r.stderr)
        hf = self.rewrite(lambda t: t, config_edit=lambda c: c["text_config"].update(sliding_window=64))
        r = export(hf, os.path.join(self.tmp, "b"), "56x56")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("sliding_window is 64", r.stderr)
        self.assertNotIn("Traceback", r.stderr)

    def test_bundle_yaml_states_the_resolution_and_tokens(self):
        bundle = os.path.join(self.tmp, "bundle")
        self.assertEqual(export(os.path.join(fixture("llava_next_wide"), "hf"), bundle, "28x56").returncode, 0)
        with open(os.path.join(bundle, "bundle.yaml"), encoding="utf-8") as f:
            text = f.read()
        spec = yaml.safe_load(text)
        self.assertEqual((spec["image"]["height"], spec["image"]["width"], spec["image"]["visual_tokens"]), (28, 56, 52))
        self.assertEqual(spec["positions"], {"kind": "plain"})
        self.assertEqual(spec["special_tokens"], {"pad": 2001, "eos": 2})
        self.assertIn("base view", text)
        self.assertEqual((spec["chat_template"]["user_start"], spec["chat_template"]["user_end"]), ("[INST] ", " [/INST]"))
        self.assertEqual((spec["chat_template"]["system_start"], spec["chat_template"]["end_of_turn"]), ("", "</s>"))

    def test_a_checkpoint_template_of_another_format_is_refused(self):
        hf = self.rewrite(lambda t: t)
        with open(os.path.join(hf, "chat_template.json"), "w") as f:
            json.dump({"chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n<image>{% endfor %}"}, f)
        r = export(hf, os.path.join(self.tmp, "b"), "56x56")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("chat_template.json: chat_template is not Mistral's", r.stderr)
        with open(os.path.join(hf, "chat_template.json"), "w") as f:
            json.dump({"chat_template": "{% for m in messages %}[INST] <image>\n{{ m['content'] }} [/INST]{% endfor %}"}, f)
        self.assertEqual(export(hf, os.path.join(self.tmp, "b"), "56x56").returncode, 0)


if __name__ == "__main__":
    unittest.main()
