"""Fashion-MNIST, the full-size real stand-in for CIFAR-10: its four IDX files found on the machine (Debian's package)
or downloaded on first use (:func:`load_fashion_mnist`), in CIFAR-10's geometry and preprocessing
(:func:`load_fashion_cifar`: the whole preprocessed set cached once, or a small run's own images whitened alone),
and occluded by MNIST digits as Occluded CIFAR is (:func:`load_occluded_fashion`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

import numpy as np

from infodropout.paper.data import download, generate
from infodropout.paper.data.checksums import (
    MNIST_CHECKSUMS, MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS,
)
from infodropout.paper.data.formats import (
    CIFAR_CHANNELS, CIFAR_SIDE, Dataset, OccludedDataset, fashion_cifar_path, load_npz, mnist_sample_uint8,
    occluded_fashion_path, save_npz, subset, to_unit_float,
)
from infodropout.paper.data.loaders import read_mnist, read_occluded
from infodropout.paper.data.original_formats import read_mnist_idx
from infodropout.paper.data.preprocessing import pad_to_cifar_shape, preprocess_cifar, preprocess_cifar_part
from infodropout.paper.errors import STDERR, DataError


def read_fashion_mnist(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
                       checksums: Mapping | None = None, contents: Mapping | None = None,
                       progress: TextIO | None = STDERR) -> Dataset:
    """Fashion-MNIST as uint8 images (N, 28, 28) and int64 labels (the 10 clothing classes): 60,000
    train, 10,000 test, the official split.

    The four IDX files are found and verified by :func:`infodropout.paper.data.download.fetch_fashion_mnist`:
    in ``datasets_dir/fashion-mnist/``, else from ``base_url`` or ``$INFODROPOUT_FASHION_URL``, else in the
    folder of Debian's package ``dataset-fashion-mnist``, else downloaded; it documents ``checksums`` and
    ``contents`` too.
    """
    paths = download.fetch_fashion_mnist(datasets_dir, base_url, checksums, contents, progress)
    x_train, y_train = read_mnist_idx(paths[MNIST_TRAIN_IMAGES], paths[MNIST_TRAIN_LABELS])
    x_test, y_test = read_mnist_idx(paths[MNIST_TEST_IMAGES], paths[MNIST_TEST_LABELS])
    return Dataset(x_train, y_train, x_test, y_test)


def load_fashion_mnist(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
                       checksums: Mapping | None = None, contents: Mapping | None = None,
                       progress: TextIO | None = STDERR) -> Dataset:
    """Fashion-MNIST as MNIST is given to the fully connected network: float32 (N, 28, 28, 1) in [0, 1],
    int64 labels (see :func:`read_fashion_mnist`). Not cached, as :func:`load_mnist`."""
    raw = read_fashion_mnist(datasets_dir, base_url, checksums, contents, progress)
    return Dataset(to_unit_float(raw.x_train)[..., np.newaxis], raw.y_train,
                   to_unit_float(raw.x_test)[..., np.newaxis], raw.y_test)


# The most training images a Fashion-MNIST run whitens by itself (load_fashion_cifar) rather than building the
# whole preprocessed set, which every later run then reads.
SMALL_FASHION_RUN = 10_000


def _progress_lines(progress: TextIO | None) -> Callable[[str], None]:
    started = time.monotonic()

    def say(line: str) -> None:
        if progress is not None:
            print(f"[{time.monotonic() - started:7.1f}s] Fashion-MNIST: {line}", file=progress, flush=True)

    return say


def build_fashion_cifar(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
                        checksums: Mapping | None = None, contents: Mapping | None = None,
                        progress: TextIO | None = STDERR) -> None:
    """Write ``fashion-cifar-{train,test}.npz`` into ``datasets_dir``: Fashion-MNIST padded to 32×32,
    copied to 3 channels (:func:`~infodropout.paper.data.preprocessing.pad_to_cifar_shape`), then preprocessed
    exactly as CIFAR-10 is (per-image standardisation, ZCA fitted on the training set); its size said first."""
    say = _progress_lines(progress)
    raw = read_fashion_mnist(datasets_dir, base_url, checksums, contents, progress)
    images = len(raw.x_train) + len(raw.x_test)
    say(f"preprocessing all {images:,} images once into {fashion_cifar_path(datasets_dir, 'train').name} and "
        f"{fashion_cifar_path(datasets_dir, 'test').name} ({images * CIFAR_SIDE ** 2 * CIFAR_CHANNELS * 4 / 1e6:,.0f} "
        f"MB), which every later run reads")
    dataset = preprocess_cifar(Dataset(pad_to_cifar_shape(raw.x_train), raw.y_train,
                                       pad_to_cifar_shape(raw.x_test), raw.y_test), progress=say)
    del raw
    for split, data, labels in (("train", dataset.x_train, dataset.y_train), ("test", dataset.x_test, dataset.y_test)):
        path = fashion_cifar_path(datasets_dir, split)
        say(f"writing {path} ({len(data):,} images)")
        save_npz(path, data, labels)


def load_fashion_cifar(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
                       checksums: Mapping | None = None, contents: Mapping | None = None,
                       progress: TextIO | None = STDERR, num_train: int = 0, num_test: int = 0) -> Dataset:
    """Fashion-MNIST in CIFAR-10's geometry and preprocessing, float32 NHWC (N, 32, 32, 3), the first ``num_train``
    training and ``num_test`` test images (0: a whole split): the stand-in for CIFAR-10 of ``cifar.py with
    dataset=fashion``. Read from ``fashion-cifar-{train,test}.npz``, built first (:func:`build_fashion_cifar`) when
    either is missing, except that a run on at most :data:`SMALL_FASHION_RUN` training images whitens its own
    images alone, with the ZCA fitted on the whole training set and kept in ``fashion-cifar-zca.npz``
    (:func:`~infodropout.paper.data.preprocessing.preprocess_cifar_part`): the same numbers, for far less."""
    paths = [fashion_cifar_path(datasets_dir, split) for split in ("train", "test")]
    if not all(path.is_file() for path in paths):
        if 0 < num_train <= SMALL_FASHION_RUN:
            raw = read_fashion_mnist(datasets_dir, base_url, checksums, contents, progress)
            padded = Dataset(pad_to_cifar_shape(raw.x_train), raw.y_train, pad_to_cifar_shape(raw.x_test), raw.y_test)
            return preprocess_cifar_part(padded, num_train, num_test, fashion_cifar_path(datasets_dir, "zca"),
                                         progress=_progress_lines(progress))
        build_fashion_cifar(datasets_dir, base_url, checksums, contents, progress)
    splits = []
    for path in paths:
        data, labels = load_npz(path, hint="delete it to build it again from the Fashion-MNIST files")
        if data.ndim != 4 or data.shape[1:] != (CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS):
            raise DataError(f"{path}: 'data' has shape {data.shape}; expected NHWC (N, 32, 32, 3). "
                            "Delete it to build it again")
        splits += [data.astype(np.float32, copy=False), labels]
    return subset(Dataset(*splits), num_train, num_test)


def mnist_files_present(datasets_dir: str | os.PathLike = "datasets") -> bool:
    """Whether the four full-MNIST IDX files are in ``datasets_dir`` (gzipped or not), so that they can
    be read without a download."""
    folder = Path(datasets_dir)
    return all((folder / name).is_file() or (folder / name.removesuffix(".gz")).is_file()
               for name in MNIST_CHECKSUMS)


def occluded_fashion_digits(datasets_dir: str | os.PathLike, digits: str = "auto") -> str:
    """The occluders ``digits`` names: ``"mnist"`` or ``"sample"`` as given; ``"auto"``: the full MNIST
    where its four files are already in ``datasets_dir``, else the embedded 10,000-digit sample (so
    that an offline machine needs no download)."""
    if digits not in ("auto", "mnist", "sample"):
        raise ValueError(f"digits must be 'auto', 'mnist' or 'sample', got {digits!r}")
    if digits == "auto":
        return "mnist" if mnist_files_present(datasets_dir) else "sample"
    return digits


def load_occluded_fashion(datasets_dir: str | os.PathLike = "datasets", *, digits: str = "auto", seed: int = 0,
                          base_url: str | None = None, mnist_base_url: str | None = None,
                          checksums: Mapping | None = None, contents: Mapping | None = None,
                          progress: TextIO | None = STDERR) -> OccludedDataset:
    """Occluded Fashion-MNIST, the stand-in for Occluded CIFAR: float32 (N, 32, 32, 3) pre-processed as
    CIFAR-10, the clothing class as labels (the task) and the occluding digit's class as nuisance labels.

    Reads ``occluded-fashion[-sample]-{train,test}.npz`` (:func:`occluded_fashion_path`); when either is
    missing, builds both (:func:`infodropout.paper.data.generate.write_occluded_fashion`) from the raw
    Fashion-MNIST (found or downloaded, see :func:`read_fashion_mnist`) and the digits that
    ``digits`` names (:func:`occluded_fashion_digits`: the full MNIST, downloaded on first use with
    ``mnist_base_url``, or the embedded sample's 8,000 training and 2,000 test digits, each then used
    7.5 and 5 times). Which digits were used goes to ``progress`` and is recorded in the files.
    """
    source = occluded_fashion_digits(datasets_dir, digits)
    paths = [occluded_fashion_path(datasets_dir, split, source, seed) for split in ("train", "test")]
    if progress is not None:
        print(f"Occluded Fashion-MNIST: occluders from {'the full MNIST' if source == 'mnist' else 'the embedded MNIST sample'} "
              f"({paths[0].name})", file=progress, flush=True)
    if not all(path.is_file() for path in paths):
        fashion = read_fashion_mnist(datasets_dir, base_url, checksums, contents, progress)
        mnist = read_mnist(datasets_dir, mnist_base_url, progress=progress) if source == "mnist" else mnist_sample_uint8()
        generate.write_occluded_fashion(datasets_dir, fashion, mnist, digits=source, seed=seed, progress=progress)
        del fashion, mnist
    def check(path: Path, arrays: dict) -> None:
        record = (str(arrays["digits"]) if "digits" in arrays else source, int(arrays.get("seed", seed)))
        if record != (source, seed):
            raise DataError(f"{path}: generated with digits={record[0]}, seed={record[1]}, but digits={source}, "
                            f"seed={seed} was asked for; delete it to regenerate it")

    return read_occluded(paths, ("seed", "digits"), check)
