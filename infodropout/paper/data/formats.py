"""The data sets' types and files: train/test splits, the embedded MNIST sample, the ``.npz`` archives this program
writes (with a checksum of their content) and the files' names, read and checked with numpy only (the published
formats, CIFAR-10's batches and the IDX files, are in :mod:`infodropout.paper.data.original_formats`).

Every reader returns numpy arrays ready for Keras (NHWC images, int64 class indices) and reports a
bad file as a :class:`~infodropout.paper.errors.DataError` naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import zipfile
from pathlib import Path
from collections.abc import Mapping
from typing import NamedTuple, TypeVar

import numpy as np

from infodropout.paper.errors import DataError, remove_stale_partials

MNIST_SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "mnist-sample.npz"
CIFAR_SIDE = 32
CIFAR_CHANNELS = 3
MNIST_SIDE = 28
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
# Rows processed at once by the chunked steps: 4096 x 3072 float64 is ~100 MB per temporary.
CHUNK_ROWS = 4096


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


# The digits of the embedded sample: its test split holds 1 to SAMPLE_DIGITS - 1 of them, the rest train.
SAMPLE_DIGITS = 10_000


def load_mnist_sample(num_test: int = 2000) -> Dataset:
    """The 10,000 real MNIST digits shipped with the package, as float32 images in [0, 1].

    Images have shape (N, 28, 28, 1). The LAST ``num_test`` examples form the test split and the
    others the training split. The file was shuffled once when it was made (seed 0), so both
    splits hold every class in about its overall proportion, and the split is the same on every
    call: a fixed split is what makes results comparable between runs.
    """
    if isinstance(num_test, bool) or not isinstance(num_test, (int, np.integer)) or not 1 <= num_test < SAMPLE_DIGITS:
        raise ValueError(f"num_test must be an integer in [1, {SAMPLE_DIGITS - 1}] (the sample holds "
                         f"{SAMPLE_DIGITS:,} digits), got {num_test!r}")
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
                if CHECKSUM_KEY in archive.files:
                    _verify_content(path, archive, arrays)
    except DataError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise DataError(f"{path}: corrupt or truncated archive ({type(error).__name__}: {error}); "
                        "delete it and produce it again") from error
    arrays["labels"] = as_class_indices(arrays["labels"], path)
    if len(arrays["data"]) != len(arrays["labels"]):
        raise DataError(f"{path}: {len(arrays['data'])} examples in 'data' but {len(arrays['labels'])} in "
                        "'labels'; the archive is inconsistent, produce it again")
    return arrays


# The archives this program writes carry this array: the SHA-256 of their content (see
# :func:`content_checksum`), checked on every read, because a file rewritten well-formed but altered
# (say, every image zeroed) passes the zip's CRC. Archives placed by hand (the authors') have none.
CHECKSUM_KEY = "content_sha256"


def content_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}|".encode())
        # A view, not a copy: Cluttered MNIST's data is 550 MB.
        digest.update(memoryview(array.reshape(-1)).cast("B") if array.ndim and array.dtype.kind != "U"
                      else array.tobytes())
    return digest.hexdigest()


def _verify_content(path: Path, archive, read: dict[str, np.ndarray]) -> None:
    """Raise a DataError if the archive's content differs from the checksum written with it."""
    arrays = {key: read[key] if key in read else archive[key] for key in archive.files if key != CHECKSUM_KEY}
    if content_checksum(arrays) != str(archive[CHECKSUM_KEY]):
        raise DataError(f"{path}: its content does not match the checksum written when it was made (the file "
                        "was altered or damaged); delete it and run again to produce it anew")


def as_class_indices(labels: np.ndarray, path: Path) -> np.ndarray:
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


def disk_size(images: int, shape: tuple[int, ...], dtype: str | np.dtype = "float32") -> str:
    """The space ``images`` arrays of ``shape`` and ``dtype`` take on disk, in words ("861 MB"), to say before a
    data set is written: the image arrays dominate an archive, which is stored uncompressed."""
    megabytes = images * int(np.prod(shape)) * np.dtype(dtype).itemsize / 1e6
    return f"{megabytes:,.0f} MB" if megabytes >= 1 else "under 1 MB"


def save_npz(path: str | os.PathLike, data: np.ndarray, labels: np.ndarray, **extra: np.ndarray) -> None:
    """Write ``data``, ``labels`` and any ``extra`` arrays to ``path`` atomically, creating its folder.

    The archive is written to a temporary file in the same folder and renamed over ``path`` with
    ``os.replace`` (atomic on one file system), so an interrupted run never leaves a half-written
    archive that a later run would take for a good one. It is not compressed: the generated sets
    then load in a fraction of a second, at the cost of disk space (550 MB for Cluttered MNIST). The
    archive also holds the SHA-256 of its content (:data:`CHECKSUM_KEY`), verified whenever it is read.
    """
    save_arrays(path, data=data, labels=labels, **extra)


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` as :func:`save_npz` does (atomically, uncompressed, with their checksum)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path.parent, path.name, ".tmp")  # what a killed write of this archive left
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    # os.open with O_EXCL and mode 0o666 gives the usual umask-dependent permissions, unlike mkstemp's 0o600.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **arrays, **{CHECKSUM_KEY: np.array(content_checksum(arrays))})
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


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


def occluded_cifar_path(datasets_dir: str | os.PathLike, split: str, seed: int = 0) -> Path:
    """``occluded-cifar-{split}.npz`` for seed 0, ``occluded-cifar-seed{seed}-{split}.npz`` otherwise."""
    stem = "occluded-cifar" if seed == 0 else f"occluded-cifar-seed{seed}"
    return Path(datasets_dir) / f"{stem}-{split}.npz"


def fashion_cifar_path(datasets_dir: str | os.PathLike, split: str) -> Path:
    """``fashion-cifar-{split}.npz``: Fashion-MNIST in CIFAR-10's geometry and preprocessing (padded to
    32×32×3, standardised per image, ZCA-whitened), named apart from ``cifar10-*.npz`` so that it can
    never pass for CIFAR-10."""
    return Path(datasets_dir) / f"fashion-cifar-{split}.npz"


def occluded_fashion_path(datasets_dir: str | os.PathLike, split: str, digits: str = "mnist", seed: int = 0) -> Path:
    """``occluded-fashion-{split}.npz`` for Fashion-MNIST occluded by the full MNIST's digits with seed 0;
    ``-sample`` (the embedded 10,000 digits) and ``-seed{S}`` are added to the name otherwise, so that the
    two occluder sources never share a file."""
    parts = ["occluded-fashion"]
    if digits != "mnist":
        parts.append(digits)
    if seed != 0:
        parts.append(f"seed{seed}")
    return Path(datasets_dir) / f"{'-'.join(parts)}-{split}.npz"
