#!/usr/bin/env python3
"""Golden values for vdedup-core's pHash, produced by Python imagehash itself.

Writes golden.txt, one case per line:
    name pixels_hex imagehash_phash flip_phash median dct[0..64]
where pixels_hex is the 32x32 uint8 input (row-major, 2048 hex digits), imagehash_phash is
str(imagehash.phash(Image.fromarray(arr, 'L'))), flip_phash is the same for np.fliplr(arr), and
median/dct are the recipe's intermediate values (scipy.fftpack.dct along axis 0 then axis 1,
top-left 8x8 block). Needs: pip install Pillow numpy scipy imagehash.
Run: python3 crates/core/tests/golden/make_golden.py
"""
import os
import sys

import imagehash
import numpy as np
import scipy.fftpack
from PIL import Image

N = 32


def recipe(arr):
    dct = scipy.fftpack.dct(scipy.fftpack.dct(arr.astype(np.float64), axis=0), axis=1)
    low = dct[:8, :8]
    med = np.median(low)
    bits = (low > med).flatten()
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return low, med, f"{value:016x}"


def cases():
    rng = np.random.default_rng(20261124)
    y, x = np.mgrid[0:N, 0:N].astype(np.float64)
    yield "uniform", np.full((N, N), 128, np.uint8)
    yield "black", np.zeros((N, N), np.uint8)
    yield "white", np.full((N, N), 255, np.uint8)
    yield "hramp", (x * 8).astype(np.uint8)
    yield "vramp", (y * 8).astype(np.uint8)
    yield "diagonal", ((x + y) * 4).astype(np.uint8)
    yield "checker4", (((x // 4 + y // 4) % 2) * 200 + 20).astype(np.uint8)
    yield "random", rng.integers(0, 256, (N, N), dtype=np.uint8)
    smooth = rng.normal(size=(N, N))
    for _ in range(6):
        smooth = (smooth + np.roll(smooth, 1, 0) + np.roll(smooth, -1, 0) + np.roll(smooth, 1, 1) + np.roll(smooth, -1, 1)) / 5
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    yield "smooth-random", (smooth * 255).astype(np.uint8)
    blobs = 90 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + 50 * ((x - 20) ** 2 + (y - 10) ** 2 < 40)
    blobs[20:26, 3:29] = 15  # an edge-heavy bar, like a caption
    yield "blobs-edges", np.clip(blobs, 0, 255).astype(np.uint8)
    yield "asymmetric", np.clip(30 + 7 * x + 2 * y + 40 * (x > 24), 0, 255).astype(np.uint8)
    yield "dark-noise", rng.integers(0, 12, (N, N), dtype=np.uint8)


def main():
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.txt")
    lines = [
        f"# made by make_golden.py with imagehash {imagehash.__version__}, numpy {np.__version__}, scipy {scipy.__version__}"
    ]
    for name, arr in cases():
        img = Image.fromarray(arr, "L")
        # imagehash resizes to 32x32 with Lanczos; at 32x32 already, that must be the identity.
        resized = np.asarray(img.resize((N, N), Image.Resampling.LANCZOS))
        if not np.array_equal(resized, arr):
            sys.exit(f"{name}: PIL resize to the same size is not the identity; golden values would be wrong")
        low, med, mine = recipe(arr)
        theirs = str(imagehash.phash(img))
        if mine != theirs:
            sys.exit(f"{name}: recipe {mine} != imagehash {theirs}")
        flip = str(imagehash.phash(Image.fromarray(np.ascontiguousarray(np.fliplr(arr)), "L")))
        dct = " ".join(repr(float(v)) for v in low.flatten())
        lines.append(f"{name} {arr.tobytes().hex()} {theirs} {flip} {float(med)!r} {dct}")
        print(f"{name:14s} {theirs} flip {flip}")
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
