"""Preprocessing of images before training: the authors' CIFAR-10 standardisation and ZCA whitening,
and MNIST digits put in CIFAR-10's geometry for the stand-in runs."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from infodropout.paper.data.formats import CHECKSUM_KEY, CHUNK_ROWS, Dataset, content_checksum, save_arrays, subset


def mnist_as_cifar_shape(dataset: Dataset) -> Dataset:
    """MNIST digits in CIFAR-10's geometry, for running the All-CNN-32 experiments where CIFAR-10 is
    absent: each 28×28 digit zero-padded to 32×32, copied to 3 channels and shifted by the training
    set's mean pixel (CIFAR-10 reaches the network centred too). A stand-in that exercises the
    experiment on real images; its numbers say nothing about CIFAR-10's."""
    def reshape(x: np.ndarray) -> np.ndarray:
        padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
        return np.repeat(padded, 3, axis=-1)

    x_train, x_test = reshape(dataset.x_train), reshape(dataset.x_test)
    mean = np.float32(x_train.mean())
    return Dataset((x_train - mean).astype(np.float32), dataset.y_train, (x_test - mean).astype(np.float32),
                   dataset.y_test)


def per_image_standardize(x: np.ndarray) -> np.ndarray:
    """Each image minus its mean, divided by its standard deviation (ddof=1), as float32.

    The statistics are over all pixels and channels of the image, as in the authors' preprocessing;
    this removes brightness and contrast differences before whitening. Images are processed in
    chunks in float64, so a 60,000-image set never needs a float64 copy. A std below 1e-8 (a
    constant image, up to round-off) is left at 1, as in the authors' process_cifar.py, so such an
    image is only centred rather than blown up by a round-off divisor.
    """
    x = np.asarray(x)
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, len(x), CHUNK_ROWS):
        chunk = x[start:start + CHUNK_ROWS].reshape(min(CHUNK_ROWS, len(x) - start), -1).astype(np.float64)
        centred = chunk - chunk.mean(axis=1, keepdims=True)
        std = centred.std(axis=1, ddof=1, keepdims=True) if chunk.shape[1] > 1 else np.zeros((len(chunk), 1))
        std[std < 1e-8] = 1.0  # the authors' threshold (SPEC §6), not an exact zero test
        out[start:start + len(chunk)] = (centred / std).reshape(out[start:start + len(chunk)].shape)
    return out


def fit_zca(x_train_flat: np.ndarray, epsilon: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ZCA whitening matrix of a (N, D) training set.

    Exactly as the authors' process_cifar.py (SPEC §6): with the unbiased covariance
    C = (X - mean)^T (X - mean) / (N - 1) = U diag(λ) U^T, the matrix is
    W = U diag(1 / (√λ + epsilon)) U^T. The regulariser is added to the singular value √λ, not to
    λ: the two differ by 0.5 % at λ = 1e-3 but 41 % at λ = 1e-5, the high-frequency directions.
    W decorrelates the inputs and scales them to (about) unit variance while staying as close as
    possible to the original pixels. The covariance is accumulated in float64 over chunks, so no
    float64 copy of the whole training set is made.
    """
    x = np.asarray(x_train_flat)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"fit_zca needs a (N, D) array with N >= 2, got shape {x.shape}")
    mean = np.zeros(x.shape[1], dtype=np.float64)
    for start in range(0, len(x), CHUNK_ROWS):
        mean += x[start:start + CHUNK_ROWS].sum(axis=0, dtype=np.float64)
    mean /= len(x)
    covariance = np.zeros((x.shape[1], x.shape[1]), dtype=np.float64)
    for start in range(0, len(x), CHUNK_ROWS):
        centred = x[start:start + CHUNK_ROWS].astype(np.float64) - mean
        covariance += centred.T @ centred
    covariance /= len(x) - 1  # N - 1, as the authors
    # The covariance is symmetric positive semi-definite, so its eigendecomposition is its SVD;
    # eigh is the faster, symmetric-aware routine. Round-off can make null eigenvalues slightly negative.
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    whitening = (eigenvectors / (np.sqrt(eigenvalues) + epsilon)) @ eigenvectors.T
    return mean, whitening


def apply_zca(x_flat: np.ndarray, mean: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(x - mean) W as float32, in chunks of rows so 50,000 x 3,072 stays within a few GB.

    W is symmetric, so right-multiplying rows equals applying W to each column vector.
    """
    x = np.asarray(x_flat)
    out = np.empty((len(x), W.shape[1]), dtype=np.float32)
    for start in range(0, len(x), CHUNK_ROWS):
        out[start:start + CHUNK_ROWS] = (x[start:start + CHUNK_ROWS].astype(np.float64) - mean) @ W
    return out


def preprocess_cifar(dataset: Dataset, progress: Callable[[str], None] | None = None) -> Dataset:
    """The authors' CIFAR preprocessing: per-image standardisation, then ZCA fitted on the training set.

    Input images are NHWC (e.g. from :func:`read_cifar_folder`); the output is NHWC float32
    (N, 32, 32, 3) with int64 labels. Images are flattened in NHWC order (height, width, channel)
    for the ZCA. The order does not change the result: ZCA commutes with any fixed permutation of
    the coordinates, so flattening channel-major would give the same images once reshaped back.
    ``progress``, if given, is called with a short line before each step (the full data set takes
    about 20 s on 2 CPU cores, peaking near 2 GB of memory).
    """
    report = progress or (lambda line: None)
    report(f"standardising {len(dataset.x_train)} training and {len(dataset.x_test)} test images")
    x_train = per_image_standardize(dataset.x_train)
    x_test = per_image_standardize(dataset.x_test)
    shape = x_train.shape[1:]
    report(f"fitting ZCA on {len(x_train)} x {int(np.prod(shape))} training values")
    mean, whitening = fit_zca(x_train.reshape(len(x_train), -1))
    report("whitening training and test images")
    white_train = apply_zca(x_train.reshape(len(x_train), -1), mean, whitening).reshape(-1, *shape)
    del x_train
    white_test = apply_zca(x_test.reshape(len(x_test), -1), mean, whitening).reshape(-1, *shape)
    return Dataset(white_train, np.asarray(dataset.y_train, dtype=np.int64),
                   white_test, np.asarray(dataset.y_test, dtype=np.int64))


def whiten(images: np.ndarray, mean: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    """``images`` standardised per image, then whitened by a ZCA fitted before (:func:`fit_zca`), as float32 of
    their shape: each image comes out as :func:`preprocess_cifar` makes it with the same ZCA, to the last bit, since
    neither step mixes images (a test checks it)."""
    images = np.asarray(images)
    flat = per_image_standardize(images).reshape(len(images), -1)
    return apply_zca(flat, mean, whitening).reshape(images.shape)


def preprocess_cifar_part(dataset: Dataset, num_train: int, num_test: int, whitening_path: str | os.PathLike,
                          progress: Callable[[str], None] | None = None) -> Dataset:
    """The first ``num_train`` training and ``num_test`` test images of ``dataset`` (0: a whole split, as
    :func:`subset` cuts) as :func:`preprocess_cifar` of the whole of it gives them, to the last bit: the ZCA is
    fitted on every training image (or read where :func:`cached_whitening` kept it), but only these images are
    standardised and whitened."""
    mean, whitening = cached_whitening(whitening_path, dataset.x_train, progress)
    used = subset(dataset, num_train, num_test)
    if progress is not None:
        progress(f"whitening the {len(used.x_train):,} training and {len(used.x_test):,} test images of this run")
    return Dataset(whiten(used.x_train, mean, whitening), np.asarray(used.y_train, dtype=np.int64),
                   whiten(used.x_test, mean, whitening), np.asarray(used.y_test, dtype=np.int64))


def cached_whitening(path: str | os.PathLike, images: np.ndarray,
                     progress: Callable[[str], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ZCA (mean and matrix) that :func:`preprocess_cifar` fits on the training ``images``: read from ``path``
    where a run wrote it for the same images, else fitted on all of them and written there, its size said first.
    A run that needs only a few images then whitens those alone (:func:`whiten`) and the next one skips the fit."""
    report = progress or (lambda line: None)
    path, images = Path(path), np.ascontiguousarray(images)
    source = hashlib.sha256(memoryview(images.reshape(-1)).cast("B")).hexdigest()
    found, problem = _read_whitening(path, source)
    if found is not None:
        report(f"reading the whitening from {path}")
        return found
    if problem:
        report(f"fitting the whitening again: {path} {problem}")
    values = int(np.prod(images.shape[1:]))
    size_mb = (values + 1) * values * 8 / 1e6  # the float64 mean and matrix
    report(f"fitting the ZCA on all {len(images):,} training images, kept in {path} ({size_mb:.0f} MB) so that the "
           "next run skips the fit")
    report(f"standardising {len(images):,} training images")
    standardised = per_image_standardize(images).reshape(len(images), -1)
    report(f"fitting ZCA on {len(images):,} x {values} training values")
    mean, whitening = fit_zca(standardised)
    del standardised
    report(f"writing {path}")
    save_arrays(path, mean=mean, whitening=whitening, source_sha256=np.array(source))
    return mean, whitening


def _read_whitening(path: Path, source: str) -> tuple[tuple[np.ndarray, np.ndarray] | None, str | None]:
    """(mean, matrix) from ``path`` if it holds the whitening of the images whose SHA-256 is ``source``, else None
    with what is wrong with the file (None where there is no file)."""
    if not path.is_file():
        return None, None
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        return None, f"is unreadable ({type(error).__name__})"
    checksum = str(arrays.pop(CHECKSUM_KEY, ""))
    if {"mean", "whitening", "source_sha256"} - set(arrays) or checksum != content_checksum(arrays):
        return None, "is damaged"
    if str(arrays["source_sha256"]) != source:
        return None, "was fitted on other training images"
    return (arrays["mean"], arrays["whitening"]), None


def pad_to_cifar_shape(images: np.ndarray) -> np.ndarray:
    """28×28 greyscale images (N, 28, 28) or (N, 28, 28, 1) in CIFAR-10's geometry: zero-padded by 2
    pixels on every side to 32×32 and copied to 3 channels, in their own dtype (uint8 stays uint8, so
    that the occluders of :func:`infodropout.paper.data.generate.occlude` can be painted on them exactly).
    Fashion-MNIST's background is 0, so the padding continues it."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must be (N, 28, 28) or (N, 28, 28, 1), got shape {images.shape}")
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[..., np.newaxis], 3, axis=-1)
