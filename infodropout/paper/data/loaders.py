"""The data sets' loaders: each reads its files, and downloads or generates them first when they are missing.

This module deliberately imports neither TensorFlow nor sacred: preprocessing CIFAR-10 and the data
tests then run in seconds on a CPU-only machine, and the arrays it returns feed any framework.

The sources:

* the real MNIST sample embedded in the package (``resources/mnist-sample.npz``, 10,000 digits; see
  ``resources/MNIST-SAMPLE.md``), so that quick runs and tests need no download;
* the full MNIST, four gzipped IDX files downloaded on first use into the data folder
  (:func:`load_mnist`; the downloads and their checksums are in :mod:`infodropout.paper.data.download`);
* the official "python version" of CIFAR-10 (``cifar-10-batches-py``), downloaded on first use or
  placed by hand, which ``process_cifar.py`` turns into pre-processed archives with the authors'
  preprocessing: per-image standardisation, then ZCA whitening fitted on the training set;
* the authors' pre-processed archives (``cifar10-train.npz``, ``cluttered-*.npz``...), ``.npz`` files
  holding ``data`` and ``labels``, used as they are when placed in the data folder;
* Cluttered MNIST and Occluded CIFAR, generated from the above on first use by
  :mod:`infodropout.paper.data.generate` (:func:`load_cluttered`, :func:`load_occluded_cifar`);
* Fashion-MNIST, the full-size real stand-in for CIFAR-10, in :mod:`infodropout.paper.data.fashion`.

Every loader returns numpy arrays ready for Keras: float32 NHWC images and int64 class indices.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

import numpy as np

from infodropout.paper.data import download
from infodropout.paper.data.checksums import MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS

from infodropout.paper.data import generate
from infodropout.paper.errors import STDERR, DataError
from infodropout.paper.data.formats import (
    CIFAR_CHANNELS,
    CIFAR_SIDE,
    CLUTTERED_DISTRACTORS,
    CLUTTERED_SIDE,
    CLUTTERED_SIZES,
    ClutteredDataset,
    Dataset,
    OccludedDataset,
    as_class_indices,
    cluttered_path,
    disk_size,
    load_npz,
    mnist_sample_uint8,
    occluded_cifar_path,
    read_npz,
    save_npz,
    to_unit_float,
)
from infodropout.paper.data.original_formats import read_cifar_folder, read_mnist_idx
from infodropout.paper.data.preprocessing import preprocess_cifar


def build_cifar10(datasets_dir: str | os.PathLike = "datasets", folder: str | os.PathLike | None = None,
                  base_url: str | None = None, progress: Callable[[str], None] | None = None) -> None:
    """Write ``cifar10-{train,test}.npz`` into ``datasets_dir`` from the official batches in ``folder``
    (default: ``datasets_dir/cifar-10-batches-py``, downloaded and extracted when missing), with the
    authors' preprocessing (per-image standardisation, then ZCA fitted on the training set)."""
    say = progress or (lambda line: None)
    folder = Path(folder) if folder is not None else download.fetch_cifar10(datasets_dir, base_url)
    say(f"reading {folder}")
    raw = read_cifar_folder(folder)
    images = len(raw.x_train) + len(raw.x_test)
    say(f"preprocessing all {images:,} images once into cifar10-train.npz and cifar10-test.npz in {datasets_dir} "
        f"({disk_size(images, (CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS))}), which every later run reads")
    dataset = preprocess_cifar(raw, progress=progress)
    for split, data, labels in (("train", dataset.x_train, dataset.y_train), ("test", dataset.x_test, dataset.y_test)):
        path = Path(datasets_dir) / f"cifar10-{split}.npz"
        say(f"writing {path} ({len(data)} images)")
        save_npz(path, data, labels)


def load_cifar10(datasets_dir: str = "datasets", base_url: str | None = None) -> Dataset:
    """CIFAR-10 already preprocessed (standardised and ZCA-whitened) from ``cifar10-{train,test}.npz``.

    When neither file is there they are built first (:func:`build_cifar10`: download, preprocessing,
    about 20 s and 2 GB on 2 cores), with progress on stderr. The images are NHWC float32
    (N, 32, 32, 3); the shape is checked here because an archive in another layout (e.g. NCHW)
    would otherwise train silently on scrambled pixels.
    """
    folder = Path(datasets_dir)
    if not any((folder / name).exists() for name in ("cifar10-train.npz", "cifar10-test.npz")):
        build_cifar10(folder, base_url=base_url, progress=lambda line: print(f"CIFAR-10: {line}", file=STDERR))
    hint = (f"run ./process_cifar.py PATH/cifar-10-batches-py --out {folder} to produce it, "
            f"or place the authors' cifar10-train.npz and cifar10-test.npz in {folder}/")
    splits = []
    for name in ("cifar10-train.npz", "cifar10-test.npz"):
        path = folder / name
        data, labels = load_npz(path, hint=hint)
        if data.ndim != 4 or data.shape[1:] != (CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS):
            raise DataError(f"{path}: 'data' has shape {data.shape}; expected NHWC (N, 32, 32, 3). "
                            "Produce it again with ./process_cifar.py")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DataError(f"{path}: labels outside 0..9; this is not a CIFAR-10 archive")
        splits += [data.astype(np.float32, copy=False), labels]
    return Dataset(*splits)


def read_mnist(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
               checksums: Mapping | None = None, progress: TextIO | None = STDERR) -> Dataset:
    """The full MNIST as uint8 images (N, 28, 28) and int64 labels: 60,000 train, 10,000 test.

    The four IDX files are downloaded into ``datasets_dir`` on first use and verified (see
    :func:`infodropout.paper.data.download.fetch_mnist`, which also documents ``base_url`` and ``checksums``).
    Kept in uint8 for the generators, which composite integer pixel values exactly.
    """
    paths = download.fetch_mnist(datasets_dir, base_url, checksums, progress)
    x_train, y_train = read_mnist_idx(paths[MNIST_TRAIN_IMAGES], paths[MNIST_TRAIN_LABELS])
    x_test, y_test = read_mnist_idx(paths[MNIST_TEST_IMAGES], paths[MNIST_TEST_LABELS])
    return Dataset(x_train, y_train, x_test, y_test)


def load_mnist(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
               checksums: Mapping | None = None, progress: TextIO | None = STDERR) -> Dataset:
    """The full MNIST, official split, as float32 images (N, 28, 28, 1) in [0, 1] and int64 labels.

    Downloads the four IDX files into ``datasets_dir`` on first use (``base_url`` or
    ``$INFODROPOUT_MNIST_URL`` override the mirror). No parsed copy is cached: decompressing and
    parsing the files takes about 0.2 s, less than reading a float32 cache of 220 MB would.
    The embedded sample (:func:`load_mnist_sample`) remains what the demo uses.
    """
    raw = read_mnist(datasets_dir, base_url, checksums, progress)
    return Dataset(to_unit_float(raw.x_train)[..., np.newaxis], raw.y_train,
                   to_unit_float(raw.x_test)[..., np.newaxis], raw.y_test)


def load_cluttered(datasets_dir: str | os.PathLike = "datasets", num_train: int | None = None,
                   num_test: int | None = None, *, source: str = "mnist", seed: int = 0,
                   distractors: int = CLUTTERED_DISTRACTORS, base_url: str | None = None,
                   progress: TextIO | None = STDERR) -> ClutteredDataset:
    """Cluttered MNIST as float32 (N, 96, 96, 1) images in [0, 1], int64 labels and digit boxes.

    Reads ``cluttered-{train,test}.npz`` (see :func:`cluttered_path`) from ``datasets_dir``, and
    generates a split there first (:func:`infodropout.paper.data.generate.write_cluttered`, progress on
    ``progress``) when its file is missing or holds fewer images than asked for:

    * ``source="mnist"``: digits of the full MNIST (downloaded on first use; ``base_url`` as in
      :func:`load_mnist`), training canvases from MNIST's training digits and test canvases from
      its test digits; 50,000 and 10,000 by default, as in the paper.
    * ``source="sample"``: digits of the embedded 10,000-digit sample (its 8,000 / 2,000 split),
      for offline runs; 8,000 and 2,000 by default, written under a ``-sample`` name.

    ``num_train`` / ``num_test`` are the numbers of images returned (None: the defaults above, or a
    whole authors' archive). Generation is prefix-stable: the first n images for a seed are the same
    whatever the total, so asking for fewer than a file holds just returns its first n, and asking
    for more regenerates a file whose beginning is the old one.

    The authors' archives (float data, one-hot labels, no boxes) are used as they are, with
    ``boxes_*`` None. Our files record their source, seed and distractor count, and a file whose
    record disagrees with the request (say a sample set renamed to the real name) is refused.
    """
    if source not in CLUTTERED_SIZES:
        raise ValueError(f"source must be one of {sorted(CLUTTERED_SIZES)}, got {source!r}")
    for name, value in (("num_train", num_train), ("num_test", num_test)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0):
            raise ValueError(f"{name} must be None or an integer >= 0 (0: the default size), got {value!r}")
    # 0 means "the default", as num_train=0 means "all" in subset() and the scripts' configs.
    num_train, num_test = num_train or None, num_test or None
    digits = None  # the MNIST digits, read only if a split must be generated
    splits = []
    for split, count, default in (("train", num_train, CLUTTERED_SIZES[source][0]),
                                  ("test", num_test, CLUTTERED_SIZES[source][1])):
        path = cluttered_path(datasets_dir, split, source, seed, distractors)
        loaded = _read_cluttered(path, source, seed, distractors) if path.is_file() else None
        authors = loaded is not None and loaded[3] is None  # no generator record: placed by hand
        if count is not None:
            wanted = count
        else:
            wanted = None if authors else default  # None: the whole archive
        if loaded is not None and (wanted is None or len(loaded[0]) >= wanted):
            images, labels, boxes, _ = loaded
        else:
            if authors:
                raise DataError(f"{path}: the archive holds {len(loaded[0])} images, fewer than the {wanted} "
                                f"asked for, and is not one this program generated; ask for at most "
                                f"{len(loaded[0])}")
            if digits is None:
                digits = (read_mnist(datasets_dir, base_url, progress=progress) if source == "mnist"
                          else mnist_sample_uint8())
            pool = (digits.x_train, digits.y_train) if split == "train" else (digits.x_test, digits.y_test)
            images, labels, boxes = generate.write_cluttered(path, *pool, wanted, seed=seed,
                                                              stream=0 if split == "train" else 1,
                                                              distractors=distractors, source=source,
                                                              progress=progress)
        stop = wanted if wanted is not None else len(images)
        splits.append((_cluttered_float(images[:stop]), labels[:stop], None if boxes is None else boxes[:stop]))
        # Free this split's uint8 copy before the next is read: the float32 result is the big part.
        del images, loaded
    (x_train, y_train, b_train), (x_test, y_test, b_test) = splits
    return ClutteredDataset(x_train, y_train, x_test, y_test, b_train, b_test)


def _read_cluttered(path: Path, source: str, seed: int, distractors: int):
    """(images, labels, boxes or None, generator record or None) of a Cluttered MNIST archive."""
    arrays = read_npz(path, optional=("boxes", "source", "seed", "distractors"))
    data = arrays["data"]
    side = CLUTTERED_SIDE
    if data.shape[1:] in ((side, side, 1), (side, side), (side * side,)):
        data = data.reshape(len(data), side, side, 1)
    else:
        raise DataError(f"{path}: 'data' has shape {data.shape}; expected (N, 96, 96, 1) Cluttered MNIST images")
    if data.dtype != np.uint8:
        if data.dtype.kind != "f":
            raise DataError(f"{path}: 'data' has dtype {data.dtype}; expected uint8 or float in [0, 1]")
        if data.size and (data.min() < 0 or data.max() > 1):
            raise DataError(f"{path}: 'data' holds values outside [0, 1]; expected pixel intensities in [0, 1]")
    record = None
    if "source" in arrays:
        record = (str(arrays["source"]), int(arrays["seed"]), int(arrays["distractors"]))
        if record != (source, seed, distractors):
            raise DataError(f"{path}: generated with source={record[0]}, seed={record[1]}, "
                            f"distractors={record[2]}, but source={source}, seed={seed}, "
                            f"distractors={distractors} was asked for; delete the file to regenerate it")
    boxes = arrays.get("boxes")
    if boxes is not None and boxes.shape != (len(data), 4):
        raise DataError(f"{path}: 'boxes' has shape {boxes.shape}; expected ({len(data)}, 4)")
    return data, arrays["labels"], boxes, record


def _cluttered_float(images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return to_unit_float(images)
    return images.astype(np.float32, copy=False)


def load_occluded_cifar(datasets_dir: str | os.PathLike = "datasets", *, seed: int = 0,
                        cifar_base_url: str | None = None, mnist_base_url: str | None = None,
                        progress: TextIO | None = STDERR) -> OccludedDataset:
    """Occluded CIFAR, pre-processed like CIFAR-10: float32 (N, 32, 32, 3), CIFAR classes as
    labels and the occluding digits' classes as nuisance labels.

    Reads ``occluded-cifar-{train,test}.npz`` from ``datasets_dir``; when either is missing, builds
    both (:func:`infodropout.paper.data.generate.write_occluded_cifar`) from the raw CIFAR-10 batches and
    the full MNIST, downloading either on first use (``cifar_base_url`` / ``$INFODROPOUT_CIFAR_URL``
    and ``mnist_base_url`` / ``$INFODROPOUT_MNIST_URL`` override the mirrors). The compositing rule
    is documented in :func:`infodropout.paper.data.generate.occlude`.
    """
    paths = [occluded_cifar_path(datasets_dir, split, seed) for split in ("train", "test")]
    if not all(path.is_file() for path in paths):
        cifar = read_cifar_folder(download.fetch_cifar10(datasets_dir, cifar_base_url, progress=progress))
        mnist = read_mnist(datasets_dir, mnist_base_url, progress=progress)
        generate.write_occluded_cifar(datasets_dir, cifar, mnist, seed=seed, progress=progress)
        del cifar, mnist
    def check(path: Path, arrays: dict) -> None:
        if "seed" in arrays and int(arrays["seed"]) != seed:
            raise DataError(f"{path}: generated with seed {int(arrays['seed'])}, not {seed}; delete it to regenerate it")

    return read_occluded(paths, ("seed",), check)


def read_occluded(paths: list[Path], record_keys: tuple[str, ...],
                   check: Callable[[Path, dict], None]) -> OccludedDataset:
    """An occluded data set's two splits, each checked for the layout every occluded set shares (NHWC
    32×32×3 images, one nuisance label per image) and by ``check`` for how it was generated."""
    splits = []
    for path in paths:
        arrays = read_npz(path, optional=("nuisance_labels", *record_keys))
        data = arrays["data"]
        if data.ndim != 4 or data.shape[1:] != (CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS):
            raise DataError(f"{path}: 'data' has shape {data.shape}; expected NHWC (N, 32, 32, 3)")
        if "nuisance_labels" not in arrays:
            raise DataError(f"{path}: no 'nuisance_labels' array; delete the file to regenerate it")
        nuisance = as_class_indices(arrays["nuisance_labels"], path)
        if len(nuisance) != len(data):
            raise DataError(f"{path}: {len(data)} images but {len(nuisance)} nuisance labels; delete it to regenerate it")
        check(path, arrays)
        splits.append((data.astype(np.float32, copy=False), arrays["labels"], nuisance))
    (x_train, y_train, n_train), (x_test, y_test, n_test) = splits
    return OccludedDataset(x_train, y_train, x_test, y_test, n_train, n_test)
