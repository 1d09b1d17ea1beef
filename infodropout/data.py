"""Loading and preprocessing of the data sets, with numpy only.

This module deliberately imports neither TensorFlow nor sacred: preprocessing CIFAR-10 and the data
tests then run in seconds on a CPU-only machine, and the arrays it returns feed any framework.

The sources:

* the real MNIST sample embedded in the package (``resources/mnist-sample.npz``, 10,000 digits; see
  ``resources/MNIST-SAMPLE.md``), so that quick runs and tests need no download;
* the full MNIST, four gzipped IDX files downloaded on first use into the data folder
  (:func:`load_mnist`; the downloads and their checksums are in :mod:`infodropout.download`);
* the official "python version" of CIFAR-10 (``cifar-10-batches-py``), downloaded on first use or
  placed by hand, which ``process_cifar.py`` turns into pre-processed archives with the authors'
  preprocessing: per-image standardisation, then ZCA whitening fitted on the training set;
* the authors' pre-processed archives (``cifar10-train.npz``, ``cluttered-*.npz``...), ``.npz`` files
  holding ``data`` and ``labels``, used as they are when placed in the data folder;
* Cluttered MNIST and Occluded CIFAR, generated from the above on first use by
  :mod:`infodropout.generate` (:func:`load_cluttered`, :func:`load_occluded_cifar`).

Every loader returns numpy arrays ready for Keras: float32 NHWC images and int64 class indices.
"""

from __future__ import annotations

import codecs
import gzip
import os
import pickle
import sys
import uuid
import zipfile
import zlib
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import NamedTuple, TextIO, TypeVar

import numpy as np

MNIST_SAMPLE = Path(__file__).parent / "resources" / "mnist-sample.npz"
CIFAR_SIDE = 32
CIFAR_CHANNELS = 3
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
# Rows processed at once by the chunked steps: 4096 x 3072 float64 is ~100 MB per temporary.
CHUNK_ROWS = 4096


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of each write.

    The default progress stream of the loaders. A default of ``sys.stderr`` itself would be bound
    when the module is imported and ignore later redirections (``contextlib.redirect_stderr``,
    pytest's capture).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


STDERR: TextIO = _CurrentStderr()  # type: ignore[assignment]


class DataError(ValueError):
    """A data file is missing, incomplete or malformed; the message names the file and the fix."""


class Dataset(NamedTuple):
    """A train/test split; images NHWC, labels int64 class indices of shape (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class ClutteredDataset(NamedTuple):
    """Cluttered MNIST: a :class:`Dataset` plus each image's digit bounding box.

    The first four fields are those of :class:`Dataset`, so code that reads ``x_train`` ... works
    unchanged. ``boxes_*`` are int32 (N, 4) arrays ``(top, left, bottom, right)`` in canvas pixels,
    bottom and right EXCLUSIVE (numpy slice bounds): ``image[top:bottom, left:right]`` is the tight
    box around the digit's nonzero pixels, so its height is ``bottom - top``. They are None for the
    authors' archives, which have no boxes.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    boxes_train: np.ndarray | None
    boxes_test: np.ndarray | None

    def as_dataset(self) -> Dataset:
        return Dataset(self.x_train, self.y_train, self.x_test, self.y_test)


class OccludedDataset(NamedTuple):
    """Occluded CIFAR: a :class:`Dataset` (task labels = CIFAR-10 classes) plus the occluding digit's
    class as ``nuisance_*`` (int64, 0..9), for the nuisance classifier of the paper's figure 4.

    A second NamedTuple rather than a (Dataset, nuisance_train, nuisance_test) triple so that the
    nuisance labels cannot be separated from, or reordered against, the images they describe (see
    :func:`subset`, which slices them together).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    nuisance_train: np.ndarray
    nuisance_test: np.ndarray

    def as_dataset(self) -> Dataset:
        return Dataset(self.x_train, self.y_train, self.x_test, self.y_test)


AnyDataset = TypeVar("AnyDataset", Dataset, ClutteredDataset, OccludedDataset)


def subset(dataset: AnyDataset, num_train: int = 0, num_test: int = 0) -> AnyDataset:
    """The first ``num_train`` training and ``num_test`` test examples (0 keeps a whole split), for
    runs small enough for a laptop. Asking for more than a split holds is an error, not a silent cap.

    Works on every data set type here: each field ending in ``_train`` (``_test``) is cut to the
    same examples, so boxes and nuisance labels stay aligned with their images.
    """
    for name, count, available in (("num_train", num_train, len(dataset.x_train)),
                                   ("num_test", num_test, len(dataset.x_test))):
        if count < 0 or count > available:
            raise DataError(f"{name}={count}: the data set has {available} examples in that split; "
                            f"use a value in 1..{available}, or 0 for all.")
    train = slice(None, num_train or None)
    test = slice(None, num_test or None)
    values = []
    for field, value in zip(dataset._fields, dataset):
        if value is not None and field.endswith("_train"):
            value = value[train]
        elif value is not None and field.endswith("_test"):
            value = value[test]
        values.append(value)
    return type(dataset)(*values)


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


def load_npz(path: str | os.PathLike, hint: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``data`` and ``labels`` from an archive in the layout of the authors' pre-processed files.

    Labels come back as int64 class indices: one-hot (2-D) labels are converted with argmax, since
    the models and losses here take indices. ``hint`` says how to obtain the file when it is
    missing. Every failure (missing file or key, length mismatch, truncated or corrupt archive) is
    a :class:`DataError` naming the file, rather than a bare zipfile/numpy error deep in a run.
    """
    arrays = read_npz(path, hint=hint)
    return arrays["data"], arrays["labels"]


def read_npz(path: str | os.PathLike, hint: str | None = None,
             optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """``data`` and ``labels`` (checked and converted as in :func:`load_npz`) and whichever of the
    ``optional`` arrays the archive holds, by name.

    The optional arrays are read too, and only those, because an archive may hold others that are
    not needed; each one's length is NOT checked here, since some (metadata) are scalars.
    """
    path = Path(path)
    if not path.is_file():
        fix = hint or "place the pre-processed archive (arrays 'data' and 'labels') there"
        raise DataError(f"{path}: file not found; {fix}")
    arrays = {}
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
                for key in ("data", "labels", *optional):
                    if key in archive.files:
                        arrays[key] = archive[key]
    except DataError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise DataError(f"{path}: corrupt or truncated archive ({type(error).__name__}: {error}); "
                        "delete it and produce it again") from error
    arrays["labels"] = _as_class_indices(arrays["labels"], path)
    if len(arrays["data"]) != len(arrays["labels"]):
        raise DataError(f"{path}: {len(arrays['data'])} examples in 'data' but {len(arrays['labels'])} in "
                        "'labels'; the archive is inconsistent, produce it again")
    return arrays


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


def save_npz(path: str | os.PathLike, data: np.ndarray, labels: np.ndarray, **extra: np.ndarray) -> None:
    """Write ``data``, ``labels`` and any ``extra`` arrays to ``path`` atomically, creating its folder.

    The archive is written to a temporary file in the same folder and renamed over ``path`` with
    ``os.replace`` (atomic on one file system), so an interrupted run never leaves a half-written
    archive that a later run would take for a good one. It is not compressed: the generated sets
    then load in a fraction of a second, at the cost of disk space (550 MB for Cluttered MNIST).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    # os.open with O_EXCL and mode 0o666 gives the usual umask-dependent permissions, unlike mkstemp's 0o600.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, data=data, labels=labels, **extra)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def build_cifar10(datasets_dir: str | os.PathLike = "datasets", folder: str | os.PathLike | None = None,
                  base_url: str | None = None, progress: Callable[[str], None] | None = None) -> None:
    """Write ``cifar10-{train,test}.npz`` into ``datasets_dir`` from the official batches in ``folder``
    (default: ``datasets_dir/cifar-10-batches-py``, downloaded and extracted when missing), with the
    authors' preprocessing (per-image standardisation, then ZCA fitted on the training set)."""
    from infodropout.download import fetch_cifar10

    say = progress or (lambda line: None)
    folder = Path(folder) if folder is not None else fetch_cifar10(datasets_dir, base_url)
    say(f"reading {folder}")
    dataset = preprocess_cifar(read_cifar_folder(folder), progress=progress)
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


# --------------------------------------------------------------------------------------------------
# Full MNIST: the four IDX files

MNIST_SIDE = 28
# IDX magic numbers: two zero bytes, the element type (0x08, unsigned byte) and the number of
# dimensions, read as one big-endian integer.
IDX_IMAGES_MAGIC = 0x0803  # 2051: unsigned bytes, 3 dimensions (N, rows, columns)
IDX_LABELS_MAGIC = 0x0801  # 2049: unsigned bytes, 1 dimension (N,)
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """The uint8 array of an IDX file (gzipped or not), whose magic number must be ``magic``.

    The header is the magic number, then one big-endian uint32 size per dimension; the payload
    must hold exactly their product of bytes. A wrong magic number (an images file given as labels,
    say), a truncated or over-long payload, or a broken gzip stream is a :class:`DataError` naming
    the file, because numpy would otherwise happily reshape garbage into "digits".
    """
    path = Path(path)
    kind = {IDX_IMAGES_MAGIC: "images", IDX_LABELS_MAGIC: "labels"}.get(magic, f"magic {magic}")
    fix = "delete it so that it is downloaded again, or replace it with the original file"
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        if content[:2] == _GZIP_MAGIC:
            content = gzip.decompress(content)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: truncated or corrupt gzip stream ({type(error).__name__}: {error}); {fix}") from None
    if len(content) < 4:
        raise DataError(f"{path}: {len(content)} bytes is too short for an IDX header; {fix}")
    found = int.from_bytes(content[:4], "big")
    if found != magic:
        raise DataError(f"{path}: IDX magic number {found}, expected {magic} (MNIST {kind}); "
                        f"this is not an MNIST {kind} file. {fix[0].upper()}{fix[1:]}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DataError(f"{path}: truncated IDX header ({len(content)} bytes, expected {header}); {fix}")
    shape = tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(content) - header != expected:
        state = "truncated" if len(content) - header < expected else "too long"
        raise DataError(f"{path}: {state}: the header announces {shape} = {expected} bytes of data but the "
                        f"file holds {len(content) - header}; {fix}")
    # A copy, so that the array is writable and does not pin the decompressed bytes object.
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_mnist_idx(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28) and int64 labels (N,) of one MNIST split, checked for consistency."""
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if images.shape[1:] != (MNIST_SIDE, MNIST_SIDE):
        raise DataError(f"{images_path}: images of {images.shape[1]}x{images.shape[2]} pixels; MNIST's are 28x28")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels; "
                        "they are not the two halves of one split")
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()} outside 0..9; not an MNIST labels file")
    return images, labels.astype(np.int64)


def read_mnist(datasets_dir: str | os.PathLike = "datasets", base_url: str | None = None,
               checksums: Mapping | None = None, progress: TextIO | None = STDERR) -> Dataset:
    """The full MNIST as uint8 images (N, 28, 28) and int64 labels: 60,000 train, 10,000 test.

    The four IDX files are downloaded into ``datasets_dir`` on first use and verified (see
    :func:`infodropout.download.fetch_mnist`, which also documents ``base_url`` and ``checksums``).
    Kept in uint8 for the generators, which composite integer pixel values exactly.
    """
    from infodropout import download

    paths = download.fetch_mnist(datasets_dir, base_url, checksums, progress)
    x_train, y_train = read_mnist_idx(paths[download.MNIST_TRAIN_IMAGES], paths[download.MNIST_TRAIN_LABELS])
    x_test, y_test = read_mnist_idx(paths[download.MNIST_TEST_IMAGES], paths[download.MNIST_TEST_LABELS])
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


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], converted in place block by block so that the only large
    allocation is the float32 result (a 50,000-image Cluttered MNIST set is 1.8 GB of it)."""
    out = np.empty(images.shape, dtype=np.float32)
    flat_in, flat_out = images.reshape(len(images), -1), out.reshape(len(out), -1)
    for start in range(0, len(images), CHUNK_ROWS):
        block = flat_out[start:start + CHUNK_ROWS]
        block[...] = flat_in[start:start + CHUNK_ROWS]
        # Divided, not multiplied by 1/255: the correctly rounded k/255, as load_mnist_sample gives.
        block /= np.float32(255)
    return out


def mnist_sample_uint8(num_test: int = 2000) -> Dataset:
    """The embedded sample as uint8 images (N, 28, 28): the stored values, exactly (v = k / 255)."""
    sample = load_mnist_sample(num_test)
    as_uint8 = [np.rint(x[..., 0] * 255).astype(np.uint8) for x in (sample.x_train, sample.x_test)]
    return Dataset(as_uint8[0], sample.y_train, as_uint8[1], sample.y_test)


# --------------------------------------------------------------------------------------------------
# Cluttered MNIST

CLUTTERED_SIDE = 96
CLUTTERED_DISTRACTORS = 21
# The paper's split sizes; from the embedded sample, one canvas per sample digit by default.
CLUTTERED_SIZES = {"mnist": (50_000, 10_000), "sample": (8_000, 2_000)}


def cluttered_path(datasets_dir: str | os.PathLike, split: str, source: str = "mnist", seed: int = 0,
                   distractors: int = CLUTTERED_DISTRACTORS) -> Path:
    """Where the generated Cluttered MNIST split lives.

    The paper's setting (full MNIST, seed 0, 21 distractors) is ``cluttered-{train,test}.npz``, the
    name of the authors' archive too; any other setting adds its values to the name
    (``cluttered-sample-train.npz``, ``cluttered-seed3-d10-train.npz``), so that a set made from
    the 10,000-digit sample or with other parameters can never pass for the real one.
    """
    parts = ["cluttered"]
    if source != "mnist":
        parts.append(source)
    if seed != 0:
        parts.append(f"seed{seed}")
    if distractors != CLUTTERED_DISTRACTORS:
        parts.append(f"d{distractors}")
    return Path(datasets_dir) / f"{'-'.join(parts)}-{split}.npz"


def load_cluttered(datasets_dir: str | os.PathLike = "datasets", num_train: int | None = None,
                   num_test: int | None = None, *, source: str = "mnist", seed: int = 0,
                   distractors: int = CLUTTERED_DISTRACTORS, base_url: str | None = None,
                   progress: TextIO | None = STDERR) -> ClutteredDataset:
    """Cluttered MNIST as float32 (N, 96, 96, 1) images in [0, 1], int64 labels and digit boxes.

    Reads ``cluttered-{train,test}.npz`` (see :func:`cluttered_path`) from ``datasets_dir``, and
    generates a split there first (:func:`infodropout.generate.write_cluttered`, progress on
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
            from infodropout import generate

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


# --------------------------------------------------------------------------------------------------
# Occluded CIFAR


def occluded_cifar_path(datasets_dir: str | os.PathLike, split: str, seed: int = 0) -> Path:
    """``occluded-cifar-{split}.npz`` for seed 0, ``occluded-cifar-seed{seed}-{split}.npz`` otherwise."""
    stem = "occluded-cifar" if seed == 0 else f"occluded-cifar-seed{seed}"
    return Path(datasets_dir) / f"{stem}-{split}.npz"


def load_occluded_cifar(datasets_dir: str | os.PathLike = "datasets", *, seed: int = 0,
                        cifar_base_url: str | None = None, mnist_base_url: str | None = None,
                        progress: TextIO | None = STDERR) -> OccludedDataset:
    """Occluded CIFAR, pre-processed like CIFAR-10: float32 (N, 32, 32, 3), CIFAR classes as
    labels and the occluding digits' classes as nuisance labels.

    Reads ``occluded-cifar-{train,test}.npz`` from ``datasets_dir``; when either is missing, builds
    both (:func:`infodropout.generate.write_occluded_cifar`) from the raw CIFAR-10 batches and
    the full MNIST, downloading either on first use (``cifar_base_url`` / ``$INFODROPOUT_CIFAR_URL``
    and ``mnist_base_url`` / ``$INFODROPOUT_MNIST_URL`` override the mirrors). The compositing rule
    is documented in :func:`infodropout.generate.occlude`.
    """
    paths = [occluded_cifar_path(datasets_dir, split, seed) for split in ("train", "test")]
    if not all(path.is_file() for path in paths):
        from infodropout import generate

        generate.write_occluded_cifar(datasets_dir, seed=seed, cifar_base_url=cifar_base_url,
                                      mnist_base_url=mnist_base_url, progress=progress)
    splits = []
    for path in paths:
        arrays = read_npz(path, optional=("nuisance_labels", "seed"))
        data = arrays["data"]
        if data.ndim != 4 or data.shape[1:] != (CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS):
            raise DataError(f"{path}: 'data' has shape {data.shape}; expected NHWC (N, 32, 32, 3)")
        if "nuisance_labels" not in arrays:
            raise DataError(f"{path}: no 'nuisance_labels' array; delete the file to regenerate it")
        nuisance = _as_class_indices(arrays["nuisance_labels"], path)
        if len(nuisance) != len(data):
            raise DataError(f"{path}: {len(data)} images but {len(nuisance)} nuisance labels; delete it to regenerate it")
        if "seed" in arrays and int(arrays["seed"]) != seed:
            raise DataError(f"{path}: generated with seed {int(arrays['seed'])}, not {seed}; delete it to regenerate it")
        splits.append((data.astype(np.float32, copy=False), arrays["labels"], nuisance))
    (x_train, y_train, n_train), (x_test, y_test, n_test) = splits
    return OccludedDataset(x_train, y_train, x_test, y_test, n_train, n_test)
