"""What the exporter tests (test_qwen2_vl_export.py, test_llava_next_export.py) share: running the scripts with
Debian's python3, and copies of fixture checkpoints with edited tensors."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from emotune_vlm.safetensors_io import SafetensorsFile, write_safetensors  # noqa: E402

PY = sys.executable  # the interpreter running the tests: EMOTUNE_PYTHON (Debian's by default)


def run(*args):
    return subprocess.run([PY, *args], capture_output=True, text=True)


def export(script, hf_dir, out, size, dtype="fp32"):
    """scripts/export/<script> HF_DIR OUT --image-size SIZE --dtype DTYPE."""
    return run(os.path.join(ROOT, "scripts/export", script), hf_dir, out, "--image-size", size, "--dtype", dtype)


def check(bundle, golden, *extra):
    return run(os.path.join(ROOT, "scripts/export/check_golden.py"), "--bundle", bundle, "--golden", golden, *extra)


def fixture(name):
    return os.path.join(ROOT, "tests/fixtures", name)


def rewrite_checkpoint(src_hf, dst_hf, edit):
    """A copy of a fixture checkpoint whose tensors went through edit(dict) -> dict."""
    shutil.copytree(src_hf, dst_hf)
    f = SafetensorsFile(os.path.join(src_hf, "model.safetensors"))
    tensors = edit({n: f.tensor(n).clone() for n in f.names()})
    write_safetensors(os.path.join(dst_hf, "model.safetensors"), tensors, f.metadata)
