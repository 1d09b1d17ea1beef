"""Loading and preprocessing of the data sets, with numpy only.

This module deliberately imports neither TensorFlow nor sacred: preprocessing CIFAR-10 and the data
tests then run in seconds on a CPU-only machine, and the arrays it returns feed any framework.

Three sources are supported:

* the real MNIST sample embedded in the package (``resources/mnist-sample.npz``, 10,000 digits; see
  ``resources/MNIST-SAMPLE.md``), so that quick runs and tests need no download;
* the authors' pre-processed archives (``cifar10-train.npz``, ``cluttered-*.npz``...), ``.npz`` files
  holding ``data`` and ``labels``;
* the official "python version" of CIFAR-10 (``cifar-10-batches-py``), which ``process_cifar.py``
  turns into such archives with the authors' preprocessing: per-image standardisation, then ZCA
  whitening fitted on the training set.
"""

from __future__ import annotations

import codecs
import os
import pickle
import uuid
import zipfile
from pathlib import Path
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

MNIST_SAMPLE = Path(__file__).parent / "resources" / "mnist-sample.npz"
CIFAR_SIDE = 32
CIFAR_CHANNELS = 3
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
# Rows processed at once by the chunked steps: 4096 x 3072 float64 is ~100 MB per temporary.
CHUNK_ROWS = 4096


class DataError(ValueError):
    """A data file is missing, incomplete or malformed; the message names the file and the fix."""


class Dataset(NamedTuple):
    """A train/test split; images NHWC, labels int64 class indices of shape (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def subset(dataset: Dataset, num_train: int = 0, num_test: int = 0) -> Dataset:
    """The first ``num_train`` training and ``num_test`` test examples (0 keeps a whole split), for
    runs small enough for a laptop. Asking for more than a split holds is an error, not a silent cap."""
    for name, count, available in (("num_train", num_train, len(dataset.x_train)),
                                   ("num_test", num_test, len(dataset.x_test))):
        if count < 0 or count > available:
            raise DataError(f"{name}={count}: the data set has {available} examples in that split; "
                            f"use a value in 1..{available}, or 0 for all.")
    train = slice(None, num_train or None)
    test = slice(None, num_test or None)
    return Dataset(dataset.x_train[train], dataset.y_train[train], dataset.x_test[test], dataset.y_test[test])


# --------------------------------------------------------------------------------------------------
# Embedded MNIST sample


def load_mnist_sample(num_test: int = 2000) -> Dataset:
    """The 10,000 real MNIST digits shipped with the package, as float32 images in [0, 1].

    Images have shape (N, 28, 28, 1). The LAST ``num_test`` examples form the test split and the
    others the training split. The file was shuffled once when it was made (seed 0), so both
    splits hold every class in about its overall proportion, and the split is the same on every
    call: a fixed split is what makes results comparable between runs.
    """
    if isinstance(num_test, bool) or not isinstance(num_test, (int, np.integer)) or not 1 <= num_test <= 9999:
        raise ValueError(f"num_test must be an integer in [1, 9999] (the sample holds 10,000 digits), "
                         f"got {num_test!r}")
    try:
        with open(MNIST_SAMPLE, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            images = archive["images"]
            labels = archive["labels"]
    except FileNotFoundError:
        raise DataError(f"{MNIST_SAMPLE}: the embedded MNIST sample is missing; regenerate it with "
                        "tools/make_mnist_sample.py (see infodropout/resources/MNIST-SAMPLE.md)") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as error:
        raise DataError(f"{MNIST_SAMPLE}: the embedded MNIST sample is unreadable ({error}); regenerate it "
                        "with tools/make_mnist_sample.py") from error
    x = (images.astype(np.float32) / np.float32(255.0))[..., np.newaxis]
    y = labels.astype(np.int64)
    split = len(y) - int(num_test)
    return Dataset(x[:split], y[:split], x[split:], y[split:])


# --------------------------------------------------------------------------------------------------
# Pre-processed .npz archives


def load_npz(path: str | os.PathLike, hint: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``data`` and ``labels`` from an archive in the layout of the authors' pre-processed files.

    Labels come back as int64 class indices: one-hot (2-D) labels are converted with argmax, since
    the models and losses here take indices. ``hint`` says how to obtain the file when it is
    missing. Every failure (missing file or key, length mismatch, truncated or corrupt archive) is
    a :class:`DataError` naming the file, rather than a bare zipfile/numpy error deep in a run.
    """
    path = Path(path)
    if not path.is_file():
        fix = hint or "place the pre-processed archive (arrays 'data' and 'labels') there"
        raise DataError(f"{path}: file not found; {fix}")
    try:
        # Opened here rather than by np.load, which leaks its handle when the zip is corrupt.
        with open(path, "rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise DataError(f"{path}: not an .npz archive (expected arrays 'data' and 'labels')")
            with archive:
                missing = [key for key in ("data", "labels") if key not in archive.files]
                if missing:
                    raise DataError(f"{path}: missing array(s) {', '.join(repr(k) for k in missing)} "
                                    f"(found {archive.files}); the file must hold 'data' and 'labels'")
                data = archive["data"]
                labels = archive["labels"]
    except DataError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise DataError(f"{path}: corrupt or truncated archive ({type(error).__name__}: {error}); "
                        "delete it and produce it again") from error
    labels = _as_class_indices(labels, path)
    if len(data) != len(labels):
        raise DataError(f"{path}: {len(data)} examples in 'data' but {len(labels)} in 'labels'; "
                        "the archive is inconsistent, produce it again")
    return data, labels


def _as_class_indices(labels: np.ndarray, path: Path) -> np.ndarray:
    """int64 class indices from index or one-hot labels."""
    if labels.ndim == 2:
        return np.argmax(labels, axis=1).astype(np.int64)
    if labels.ndim != 1:
        raise DataError(f"{path}: 'labels' has shape {labels.shape}; expected (N,) indices or (N, K) one-hot")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise DataError(f"{path}: 'labels' holds non-integer values; expected class indices")
    elif labels.dtype.kind not in "iub":
        raise DataError(f"{path}: 'labels' has dtype {labels.dtype}; expected integer class indices")
    return labels.astype(np.int64)


def save_npz(path: str | os.PathLike, data: np.ndarray, labels: np.ndarray) -> None:
    """Write ``data`` and ``labels`` to ``path`` atomically, creating its folder.

    The archive is written to a temporary file in the same folder and renamed over ``path`` with
    ``os.replace`` (atomic on one file system), so an interrupted run never leaves a half-written
    archive that a later run would take for a good one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    # os.open with O_EXCL and mode 0o666 gives the usual umask-dependent permissions, unlike mkstemp's 0o600.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, data=data, labels=labels)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_cifar10(datasets_dir: str = "datasets") -> Dataset:
    """CIFAR-10 already preprocessed (standardised and ZCA-whitened) from ``cifar10-{train,test}.npz``.

    The images are NHWC float32 (N, 32, 32, 3); the shape is checked here because an archive in
    another layout (e.g. NCHW) would otherwise train silently on scrambled pixels.
    """
    folder = Path(datasets_dir)
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


# --------------------------------------------------------------------------------------------------
# Official CIFAR-10 python version


# The pickled batches hold a dict of bytes keys, lists and numpy arrays. Unpickling them can only
# need numpy's array reconstructor, the array and dtype classes, and (for pickles written by Python 3
# with protocol 2) _codecs.encode to rebuild bytes. Anything else is refused, so that a tampered
# file cannot run code while being "read".
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): np.zeros(0).__reduce__()[0],
    ("numpy._core.multiarray", "_reconstruct"): np.zeros(0).__reduce__()[0],
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _SafeUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals numpy arrays need."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 NHWC (N, 32, 32, 3) and int64 labels of one official CIFAR-10 python batch.

    A raw row holds 3072 bytes, channel-major: the 1024 red values, then green, then blue, each a
    row-major 32x32 plane; it is reshaped to (3, 32, 32) and transposed to (32, 32, 3). The file is
    unpickled with :class:`_SafeUnpickler`, never with a plain ``pickle.load``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected the CIFAR-10 python version "
                        "(cifar-10-batches-py, from https://www.cs.toronto.edu/~kriz/cifar.html)")
    try:
        with open(path, "rb") as handle:
            batch = _SafeUnpickler(handle, encoding="bytes").load()
    except pickle.UnpicklingError as error:
        raise DataError(f"{path}: not a CIFAR-10 batch or unsafe pickle ({error})") from error
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, OSError) as error:
        raise DataError(f"{path}: truncated or corrupt CIFAR-10 batch ({type(error).__name__}: {error}); "
                        "download and extract the archive again") from error
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path}: not a CIFAR-10 batch (expected a dict with b'data' and b'labels')")
    raw = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"])
    row = CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE
    if raw.dtype != np.uint8 or raw.ndim != 2 or raw.shape[1] != row:
        raise DataError(f"{path}: b'data' is {raw.dtype} {raw.shape}; expected uint8 (N, {row})")
    if labels.ndim != 1 or len(labels) != len(raw) or labels.dtype.kind not in "iu":
        raise DataError(f"{path}: b'labels' does not hold one integer label per image")
    images = raw.reshape(-1, CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def read_cifar_folder(folder: str | os.PathLike) -> Dataset:
    """The official split of a ``cifar-10-batches-py`` folder: data_batch_1..5 train, test_batch test."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; pass the extracted cifar-10-batches-py folder")
    train = [read_cifar_batch(folder / name) for name in CIFAR_TRAIN_BATCHES]
    x_test, y_test = read_cifar_batch(folder / CIFAR_TEST_BATCH)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return Dataset(x_train, y_train, x_test, y_test)


# --------------------------------------------------------------------------------------------------
# Preprocessing


def per_image_standardize(x: np.ndarray) -> np.ndarray:
    """Each image minus its mean, divided by its standard deviation (ddof=1), as float32.

    The statistics are over all pixels and channels of the image, as in the authors' preprocessing;
    this removes brightness and contrast differences before whitening. Images are processed in
    chunks in float64, so a 60,000-image set never needs a float64 copy. A constant image (std 0)
    is only centred.
    """
    x = np.asarray(x)
    out = np.empty(x.shape, dtype=np.float32)
    for start in range(0, len(x), CHUNK_ROWS):
        chunk = x[start:start + CHUNK_ROWS].reshape(min(CHUNK_ROWS, len(x) - start), -1).astype(np.float64)
        centred = chunk - chunk.mean(axis=1, keepdims=True)
        std = centred.std(axis=1, ddof=1, keepdims=True) if chunk.shape[1] > 1 else np.zeros((len(chunk), 1))
        std[std == 0] = 1.0
        out[start:start + len(chunk)] = (centred / std).reshape(out[start:start + len(chunk)].shape)
    return out


def fit_zca(x_train_flat: np.ndarray, epsilon: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Mean and ZCA whitening matrix of a (N, D) training set.

    With C = (X - mean)^T (X - mean) / N = U diag(S) U^T, the matrix is
    W = U diag(1 / sqrt(S + epsilon)) U^T: it decorrelates the inputs and scales them to unit
    variance while staying as close as possible to the original pixels, and epsilon = 1e-5 bounds
    the amplification of near-null directions as in the authors' preprocessing. The covariance is
    accumulated in float64 over chunks, so no float64 copy of the whole training set is made.
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
    covariance /= len(x)
    # The covariance is symmetric positive semi-definite, so its eigendecomposition is its SVD;
    # eigh is the faster, symmetric-aware routine. Round-off can make null eigenvalues slightly negative.
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    whitening = (eigenvectors / np.sqrt(eigenvalues + epsilon)) @ eigenvectors.T
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
