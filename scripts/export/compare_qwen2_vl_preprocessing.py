#!/usr/bin/python3
"""How far emotune's image preprocessing is from Hugging Face's Qwen2VLImageProcessor at a bundle's fixed
size (docs/models.md states the result). Needs the reference environment of make_qwen2_vl_golden.py.

    /usr/bin/python3 scripts/export/compare_qwen2_vl_preprocessing.py IMAGE... [--size 448x448]

emotune (csrc/data/image_decode.cpp, image.cpp): OpenCV decode, BGR -> RGB, cv::resize in 8 bits (INTER_AREA
when shrinking, INTER_LINEAR when enlarging), scale to [0, 1], normalise with the bundle's mean/std; replayed here with
python3-opencv step for step. HF: PIL decode, resize with PIL bicubic to smart_resize(H, W) (equal to the
fixed size when min_pixels = max_pixels = H*W and the sides are multiples of 28), rescale, normalise.
Prints, per image and overall, the max and mean |difference| of the normalised pixels, and the same in
0-255 steps of one channel (x std x 255).
"""
import argparse

import cv2
import numpy as np

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def emotune_pixels(path: str, h: int, w: int) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if img.shape[2] == 3 else cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    shrinking = img.shape[0] > h or img.shape[1] > w
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    img = img.astype(np.float32) * np.float32(1.0 / 255.0)
    return ((img - MEAN) / STD).transpose(2, 0, 1)


def hf_pixels(path: str, h: int, w: int) -> np.ndarray:
    from PIL import Image
    from transformers import Qwen2VLImageProcessor
    proc = Qwen2VLImageProcessor(min_pixels=h * w, max_pixels=h * w)
    image = Image.open(path).convert("RGB")
    out = proc(images=[image], return_tensors="np")
    grid = out["image_grid_thw"][0]
    if grid[1] * 14 != h or grid[2] * 14 != w:
        raise SystemExit(f"{path}: smart_resize chose {grid[1] * 14}x{grid[2] * 14}, not {h}x{w}")
    # Undo the processor's patchify: [t*gh*gw, C*2*14*14] in merge-window order -> [C, H, W] (frame 0).
    gh, gw = grid[1], grid[2]
    p = out["pixel_values"].reshape(gh // 2, gw // 2, 2, 2, 3, 2, 14, 14)[..., 0, :, :]
    return p.transpose(4, 0, 2, 5, 1, 3, 6).reshape(3, h, w)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+")
    ap.add_argument("--size", default="448x448")
    args = ap.parse_args()
    h, w = (int(x) for x in args.size.split("x"))
    worst, means = 0.0, []
    for path in args.images:
        d = np.abs(emotune_pixels(path, h, w) - hf_pixels(path, h, w))
        steps = d * STD.reshape(3, 1, 1) * 255
        worst = max(worst, float(d.max()))
        means.append(float(d.mean()))
        print(f"{path}: max |d| {d.max():.4f} (normalised) = {steps.max():.1f}/255, mean {d.mean():.4f} = {steps.mean():.2f}/255")
    print(f"{len(args.images)} images at {h}x{w}: max {worst:.4f}, mean of means {np.mean(means):.4f} (normalised units)")


if __name__ == "__main__":
    main()
