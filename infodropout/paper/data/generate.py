"""Generators of the two synthetic data sets of the paper: Cluttered MNIST and Occluded CIFAR.

Both are numpy only, vectorised over blocks of images, and deterministic: the randomness of image
i comes from a generator seeded with ``(seed, data set, stream, block of i)``, drawn for a whole
block whatever the number of images asked for, so the first n images of a seed are the same
whether n or 10 n images are generated (a small run sees the beginning of the full set). The
``stream`` separates the training set (0) from the test set (1) under one seed.

Pixel arithmetic is done on integers (uint8 digits summed in int16), so that the stored uint8
values are exact sums and clips, not float round-offs.

The loaders in :mod:`infodropout.paper.data.loaders` (``load_cluttered``, ``load_occluded_cifar``) call the
``write_*`` functions here when a data set's files are missing.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TextIO

import numpy as np

from infodropout.paper.errors import STDERR, DataError
from infodropout.paper.data.formats import (
    CIFAR_SIDE,
    CLUTTERED_DISTRACTORS,
    CLUTTERED_SIDE,
    MNIST_SIDE,
    Dataset,
    disk_size,
    occluded_cifar_path,
    occluded_fashion_path,
    save_npz,
)
from infodropout.paper.data.preprocessing import pad_to_cifar_shape, preprocess_cifar

# Images per block: a block of 1,000 Cluttered MNIST canvases is 18 MB of int16, and the per-block
# numpy calls are then few enough that their overhead is negligible.
BLOCK = 1000
PATCH = 8
# Tags that keep the random streams of the two data sets apart for the same seed.
_CLUTTERED, _OCCLUDED = 1, 2
_PERMUTATION = 0  # stream tag of the digit order; blocks use 1 + block index

Progress = Callable[[int, int], None]


def _rng(seed: int, purpose: int, stream: int, tag: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, purpose, stream, tag]))


def _check_seed(seed: int, stream: int) -> None:
    for name, value in (("seed", seed), ("stream", stream)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")


def as_uint8_digits(digits: np.ndarray) -> np.ndarray:
    """MNIST digits as uint8 (N, 28, 28): uint8 as they are, floats in [0, 1] times 255 rounded
    (exact for the k / 255 values the loaders produce); a trailing channel of 1 is dropped."""
    digits = np.asarray(digits)
    if digits.ndim == 4 and digits.shape[-1] == 1:
        digits = digits[..., 0]
    if digits.ndim != 3 or digits.shape[1:] != (MNIST_SIDE, MNIST_SIDE) or len(digits) == 0:
        raise ValueError(f"digits must be a non-empty (N, 28, 28) array, got shape {digits.shape}")
    if digits.dtype == np.uint8:
        return digits
    if digits.dtype.kind != "f" or digits.min() < 0 or digits.max() > 1:
        raise ValueError(f"digits must be uint8 or floats in [0, 1], got {digits.dtype} "
                         f"in [{digits.min()}, {digits.max()}]")
    return np.rint(digits * 255).astype(np.uint8)


def _digit_order(count: int, pool: int, seed: int, purpose: int, stream: int) -> np.ndarray:
    """Which pool digit each image uses: a seeded permutation of the pool, repeated if count > pool,
    so no digit is used twice before every digit has been used once."""
    order = _rng(seed, purpose, stream, _PERMUTATION).permutation(pool)
    return order[np.arange(count) % pool]


def ink_boxes(digits: np.ndarray) -> np.ndarray:
    """(top, left, bottom, right) of each digit's nonzero pixels, bottom/right exclusive, as int32 (N, 4).

    A digit with no ink at all gets the empty box (0, 0, 0, 0).
    """
    rows = digits.any(axis=2)
    cols = digits.any(axis=1)
    side = digits.shape[1]
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)
    bottom = side - rows[:, ::-1].argmax(axis=1)
    right = side - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([top, left, bottom, right], axis=1).astype(np.int32)
    boxes[~rows.any(axis=1)] = 0
    return boxes


def _reporter(stream: TextIO | None, label: str) -> Progress:
    """A progress callback printing one line per 10 % to ``stream`` (None: silent)."""
    started = time.monotonic()
    shown = [-1]

    def report(done: int, total: int) -> None:
        if stream is None or total == 0:
            return
        step = 10 * (10 * done // total)
        if step != shown[0]:
            shown[0] = step
            print(f"{label}: {step:3d}% ({done:,}/{total:,}) after {time.monotonic() - started:.1f} s",
                  file=stream, flush=True)

    return report


# --------------------------------------------------------------------------------------------------
# Cluttered MNIST


class Cluttered(NamedTuple):
    """Generated Cluttered MNIST images and what was placed where.

    images: uint8 (N, side, side). labels: int64 (N,), the class of the one full digit.
    boxes: int32 (N, 4), (top, left, bottom, right) of that digit's nonzero pixels on the canvas,
        bottom and right exclusive: ``images[i, top:bottom, left:right]`` holds all of its ink.
    digit_positions: int32 (N, 2), (row, column) of the 28x28 digit's top-left corner.
    distractor_positions: int32 (N, distractors, 2), (row, column) of each 8x8 distractor's
        top-left corner; its second axis is the number of distractors actually placed.
    sources: int64 (N,), the index in the digit pool of each image's full digit.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    digit_positions: np.ndarray
    distractor_positions: np.ndarray
    sources: np.ndarray


def generate_cluttered(digits: np.ndarray, labels: np.ndarray, count: int, *, seed: int = 0, stream: int = 0,
                       distractors: int = CLUTTERED_DISTRACTORS, side: int = CLUTTERED_SIDE,
                       progress: Progress | None = None) -> Cluttered:
    """``count`` Cluttered MNIST canvases made from a pool of MNIST ``digits`` (after Mnih et al. 2014).

    Each canvas is ``side`` x ``side`` (96) and holds, summed and clipped to [0, 255]:

    * one whole 28x28 digit, taken from the pool in a seeded random order (each pool digit once
      before any repeats), whose top-left corner is uniform over the 69 x 69 positions that keep it
      on the canvas; its class is the image's label;
    * ``distractors`` (21) patches, each an 8x8 crop at a uniform position of a uniformly chosen pool
      digit, placed at a uniform position fully on the canvas. A crop can fall on a digit's empty
      border and add nothing, as in the original recipe.

    ``digits``: uint8 (N, 28, 28) (or floats in [0, 1]); ``labels``: their classes. The training set
    is made from MNIST's training digits and the test set from its test digits, with ``stream`` 0
    and 1. ``progress(done, count)`` is called after each block of 1,000 images.
    """
    _check_seed(seed, stream)
    digits = as_uint8_digits(digits)
    labels = np.asarray(labels)
    if len(labels) != len(digits):
        raise ValueError(f"{len(digits)} digits but {len(labels)} labels")
    if count < 0 or distractors < 0 or side < MNIST_SIDE:
        raise ValueError(f"need count >= 0, distractors >= 0 and side >= 28 (got {count}, {distractors}, {side})")
    pool, digit, crop_span = len(digits), MNIST_SIDE, MNIST_SIDE - PATCH + 1
    sources = _digit_order(count, pool, seed, _CLUTTERED, stream)
    boxes_in_digit = ink_boxes(digits)
    images = np.empty((count, side, side), dtype=np.uint8)
    positions = np.empty((count, 2), dtype=np.int32)
    patch_positions = np.empty((count, distractors, 2), dtype=np.int32)
    span = np.arange(digit)
    patch_span = np.arange(PATCH)
    for start in range(0, count, BLOCK):
        n = min(BLOCK, count - start)
        rng = _rng(seed, _CLUTTERED, stream, 1 + start // BLOCK)
        # Drawn for a whole block, then cut: image i's draws do not depend on ``count``.
        corner = rng.integers(0, side - digit + 1, size=(BLOCK, 2))[:n]
        patch_source = rng.integers(0, pool, size=(BLOCK, distractors))[:n]
        patch_crop = rng.integers(0, crop_span, size=(BLOCK, distractors, 2))[:n]
        patch_corner = rng.integers(0, side - PATCH + 1, size=(BLOCK, distractors, 2))[:n]

        canvas = np.zeros((n, side, side), dtype=np.int16)  # 22 x 255 fits easily
        image = np.arange(n)[:, None, None]
        rows = corner[:, 0, None, None] + span[None, :, None]
        cols = corner[:, 1, None, None] + span[None, None, :]
        canvas[image, rows, cols] = digits[sources[start:start + n]]
        for k in range(distractors):
            # One patch per image per step: no index repeats within the fancy-indexed add, so none is lost.
            crop = digits[patch_source[:, k, None, None],
                          patch_crop[:, k, 0, None, None] + patch_span[None, :, None],
                          patch_crop[:, k, 1, None, None] + patch_span[None, None, :]]
            canvas[image,
                   patch_corner[:, k, 0, None, None] + patch_span[None, :, None],
                   patch_corner[:, k, 1, None, None] + patch_span[None, None, :]] += crop
        np.minimum(canvas, 255, out=canvas)
        images[start:start + n] = canvas
        positions[start:start + n] = corner
        patch_positions[start:start + n] = patch_corner
        if progress is not None:
            progress(start + n, count)
    boxes = boxes_in_digit[sources].copy()
    boxes += np.concatenate([positions, positions], axis=1)
    empty = boxes_in_digit[sources, 2] == 0
    boxes[empty] = np.concatenate([positions, positions], axis=1)[empty]
    return Cluttered(images, labels[sources].astype(np.int64), boxes, positions, patch_positions,
                     sources.astype(np.int64))


def write_cluttered(path: str | os.PathLike, digits: np.ndarray, labels: np.ndarray, count: int, *,
                    seed: int, stream: int, distractors: int, source: str,
                    progress: TextIO | None = STDERR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``count`` canvases and store them atomically at ``path``; returns (data, labels, boxes).

    The archive holds ``data`` uint8 (N, 96, 96, 1), ``labels`` int64, ``boxes`` int32 (N, 4) (see
    :class:`Cluttered`) and the generator's record ``source``, ``seed``, ``distractors``, which the
    loader checks. uint8 on disk: 4 times smaller than float32, and exact.
    """
    path = Path(path)
    if progress is not None:
        size = disk_size(count, (CLUTTERED_SIDE, CLUTTERED_SIDE), "uint8")
        print(f"generating {path} ({size}): {count:,} Cluttered MNIST images from {len(digits):,} {source} digits "
              f"(seed {seed}, {distractors} distractors)", file=progress, flush=True)
    made = generate_cluttered(digits, labels, count, seed=seed, stream=stream, distractors=distractors,
                              progress=_reporter(progress, f"generating {path.name}"))
    data = made.images[..., np.newaxis]
    _save(path, data, made.labels, boxes=made.boxes, source=np.array(source), seed=np.int64(seed),
          distractors=np.int64(distractors))
    return data, made.labels, made.boxes


def _save(path: Path, data: np.ndarray, labels: np.ndarray, **extra: np.ndarray) -> None:
    """:func:`save_npz`, with a failed write (a full disk, a read-only folder) as a :class:`DataError` that
    names the file and the fix; save_npz leaves no partial file, so nothing is to be cleaned up."""
    try:
        save_npz(path, data, labels, **extra)
    except OSError as error:
        size = sum(array.nbytes for array in (data, labels, *extra.values())) / 1e6
        fix = (f"free at least {size:,.0f} MB there" if error.errno == errno.ENOSPC
               else "make the folder writable or give another (datasets_dir=...)")
        raise DataError(f"could not write the generated data set {path}: {error.strerror or error}; {fix}, then "
                        "run the same command again (it is generated again from the start)") from error


# --------------------------------------------------------------------------------------------------
# Occluded CIFAR


class Occluded(NamedTuple):
    """CIFAR images with an MNIST digit painted over each (see :func:`occlude` for the rule).

    images: uint8 (N, 32, 32, 3). labels: int64, the CIFAR-10 class (the task).
    nuisance_labels: int64, the occluding digit's class (the nuisance).
    positions: int32 (N, 2), (row, column) of the 28x28 digit's top-left corner in the image.
    colours: uint8 (N, 3), the RGB colour of each digit's strokes.
    sources: int64 (N,), the index in the digit pool of each image's digit.
    """

    images: np.ndarray
    labels: np.ndarray
    nuisance_labels: np.ndarray
    positions: np.ndarray
    colours: np.ndarray
    sources: np.ndarray


def bright_colours(hues: np.ndarray) -> np.ndarray:
    """uint8 RGB (N, 3) of fully saturated, full-value colours of the given hues in [0, 1) (HSV with S = V = 1)."""
    # The standard HSV -> RGB formula with S = V = 1: channel n is 1 - clip(min(k, 4 - k), 0, 1),
    # k = (n + 6 h) mod 6, for n = 5, 3, 1 (red, green, blue).
    k = (np.array([5.0, 3.0, 1.0])[None, :] + 6.0 * np.asarray(hues, dtype=np.float64)[:, None]) % 6.0
    rgb = 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return np.rint(rgb * 255).astype(np.uint8)


def occlude(images: np.ndarray, labels: np.ndarray, digits: np.ndarray, digit_labels: np.ndarray, *,
            seed: int = 0, stream: int = 0, colour: str | tuple[int, int, int] = "random",
            progress: Progress | None = None) -> Occluded:
    """Paint one MNIST digit over each CIFAR image: the Occluded CIFAR rule.

    For image i (uint8 (32, 32, 3)):

    * the digit is the next of a seeded random order of the pool ``digits`` (each digit once before
      any repeats), at its own scale (28x28, no resizing), its top-left corner uniform over the
      5 x 5 positions that keep it wholly inside the 32x32 image;
    * its colour c is, for ``colour="random"``, a bright colour of uniformly random hue (HSV with
      full saturation and value: one of the pure hues red, yellow, green, cyan, blue, magenta and
      those between), so that the digit contrasts with most backgrounds; or the RGB triple given;
    * the digit's intensity is the alpha: a = digit / 255, and each pixel under the digit becomes
      round((1 - a) x + a c). Where a = 1 (the stroke's core) the image is fully hidden; outside the
      stroke (a = 0) it is unchanged.

    ``labels`` (the CIFAR classes) are kept as the task labels and the digits' classes become the
    ``nuisance_labels``. The training set uses MNIST's training digits and ``stream`` 0, the test
    set its test digits and ``stream`` 1.
    """
    _check_seed(seed, stream)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (CIFAR_SIDE, CIFAR_SIDE, 3) or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, 32, 32, 3), got {images.dtype} {images.shape}")
    digits = as_uint8_digits(digits)
    labels, digit_labels = np.asarray(labels), np.asarray(digit_labels)
    if len(labels) != len(images) or len(digit_labels) != len(digits):
        raise ValueError("each image and each digit needs one label")
    fixed = None
    if not isinstance(colour, str):
        fixed = np.asarray(colour)
        if fixed.shape != (3,) or fixed.min() < 0 or fixed.max() > 255:
            raise ValueError(f"colour must be 'random' or an RGB triple in 0..255, got {colour!r}")
    elif colour != "random":
        raise ValueError(f"colour must be 'random' or an RGB triple in 0..255, got {colour!r}")
    count, side, digit = len(images), CIFAR_SIDE, MNIST_SIDE
    sources = _digit_order(count, len(digits), seed, _OCCLUDED, stream)
    out = np.empty_like(images)
    positions = np.empty((count, 2), dtype=np.int32)
    colours = np.empty((count, 3), dtype=np.uint8)
    span = np.arange(digit)
    for start in range(0, count, BLOCK):
        n = min(BLOCK, count - start)
        rng = _rng(seed, _OCCLUDED, stream, 1 + start // BLOCK)
        corner = rng.integers(0, side - digit + 1, size=(BLOCK, 2))[:n]
        hue = rng.random(BLOCK)[:n]
        paint = bright_colours(hue) if fixed is None else np.broadcast_to(fixed.astype(np.uint8), (n, 3))
        alpha = np.zeros((n, side, side), dtype=np.float32)
        alpha[np.arange(n)[:, None, None],
              corner[:, 0, None, None] + span[None, :, None],
              corner[:, 1, None, None] + span[None, None, :]] = digits[sources[start:start + n]] / np.float32(255)
        block = images[start:start + n].astype(np.float32)
        block += alpha[..., None] * (paint[:, None, None, :].astype(np.float32) - block)
        out[start:start + n] = np.rint(block)
        positions[start:start + n] = corner
        colours[start:start + n] = paint
        if progress is not None:
            progress(start + n, count)
    return Occluded(out, labels.astype(np.int64), digit_labels[sources].astype(np.int64), positions, colours,
                    sources.astype(np.int64))


def write_occluded_cifar(datasets_dir: str | os.PathLike, cifar: Dataset, mnist: Dataset, *, seed: int = 0,
                         progress: TextIO | None = STDERR) -> None:
    """Build ``occluded-cifar-{train,test}.npz`` in ``datasets_dir`` from CIFAR-10 and MNIST.

    ``cifar`` holds the raw CIFAR-10 images (uint8 NHWC) and ``mnist`` the raw MNIST digits (uint8
    (N, 28, 28)), as the readers of :mod:`infodropout.paper.data.formats` return them; it occludes the 50,000 training images with MNIST training digits and
    the 10,000 test images with MNIST test digits (:func:`occlude`), then applies CIFAR-10's
    preprocessing unchanged (per-image standardisation, ZCA fitted on the occluded training set) and
    writes ``data`` float32 (N, 32, 32, 3), ``labels`` (CIFAR class), ``nuisance_labels`` (digit),
    plus ``positions``, ``colours`` and ``seed`` for the record.
    """
    _write_occluded("occluded CIFAR", cifar, mnist, "MNIST",
                    lambda split: occluded_cifar_path(datasets_dir, split, seed), {}, seed, progress)


def _write_occluded(title: str, images: Dataset, digits: Dataset, digits_name: str, path: Callable[[str], Path],
                    record: dict, seed: int, progress: TextIO | None) -> None:
    """Occlude ``images`` (uint8 NHWC, 32×32×3) by ``digits`` (training images by training digits, test images
    by test digits, :func:`occlude`), preprocess as CIFAR-10 and write each split to ``path(split)`` with the
    occlusion's record and the arrays of ``record``."""
    started = time.monotonic()

    def say(line: str) -> None:
        if progress is not None:
            print(f"[{time.monotonic() - started:7.1f}s] {title}: {line}", file=progress, flush=True)

    say(f"{len(images.x_train) + len(images.x_test):,} images into {path('train').name} and {path('test').name} "
        f"({disk_size(len(images.x_train) + len(images.x_test), (CIFAR_SIDE, CIFAR_SIDE, 3))})")
    made = []
    for split, pictures, labels, occluders, digit_labels, stream in (
            ("train", images.x_train, images.y_train, digits.x_train, digits.y_train, 0),
            ("test", images.x_test, images.y_test, digits.x_test, digits.y_test, 1)):
        say(f"occluding {len(pictures):,} {split} images with {len(occluders):,} {digits_name} {split} digits")
        made.append(occlude(pictures, labels, occluders, digit_labels, seed=seed, stream=stream,
                            progress=_reporter(progress, f"occluding {split}")))
    train, test = made
    processed = preprocess_cifar(Dataset(train.images, train.labels, test.images, test.labels), progress=say)
    for split, data, made_split in (("train", processed.x_train, train), ("test", processed.x_test, test)):
        target = path(split)
        say(f"writing {target} ({len(data):,} images)")
        _save(target, data, made_split.labels, nuisance_labels=made_split.nuisance_labels,
              positions=made_split.positions, colours=made_split.colours, seed=np.int64(seed), **record)
    say("done")


def write_occluded_fashion(datasets_dir: str | os.PathLike, fashion: Dataset, mnist: Dataset, *, digits: str = "mnist",
                           seed: int = 0, progress: TextIO | None = STDERR) -> None:
    """Build Occluded Fashion-MNIST, ``occluded-fashion[-sample]-{train,test}.npz`` (see
    :func:`~infodropout.paper.data.formats.occluded_fashion_path`), the stand-in for Occluded CIFAR.

    ``fashion`` holds the raw Fashion-MNIST images (uint8 (N, 28, 28)), ``mnist`` the occluding digits
    (uint8 (N, 28, 28)): the full MNIST (``digits="mnist"``) or the embedded sample (``"sample"``), the
    name recorded in the files and in their names. Each Fashion image is padded to 32×32 and copied to 3
    channels (:func:`~infodropout.paper.data.preprocessing.pad_to_cifar_shape`), occluded exactly as an
    Occluded CIFAR image is (:func:`occlude`, same seeds and streams: training images by training digits,
    test images by test digits), then preprocessed as CIFAR-10 (per-image standardisation, ZCA fitted on
    the occluded training set). Arrays: ``data`` float32 (N, 32, 32, 3), ``labels`` (the clothing class,
    the task), ``nuisance_labels`` (the digit), ``positions``, ``colours``, ``seed`` and ``digits``.
    """
    padded = Dataset(pad_to_cifar_shape(fashion.x_train), fashion.y_train,
                     pad_to_cifar_shape(fashion.x_test), fashion.y_test)
    _write_occluded("occluded Fashion-MNIST", padded, mnist, digits,
                    lambda split: occluded_fashion_path(datasets_dir, split, digits, seed),
                    {"digits": np.array(digits)}, seed, progress)
