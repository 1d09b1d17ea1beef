"""The data sets as published: CIFAR-10's pickled python batches and MNIST's (and Fashion-MNIST's) IDX files, read
with numpy only into NHWC images and int64 class indices, every malformed file a
:class:`~infodropout.paper.errors.DataError` naming the file and the fix."""

from __future__ import annotations

import codecs
import gzip
import os
import pickle
import zlib
from pathlib import Path

import numpy as np

from infodropout.paper.data.formats import (
    CIFAR_CHANNELS, CIFAR_SIDE, CIFAR_TEST_BATCH, CIFAR_TRAIN_BATCHES, MNIST_SIDE, Dataset,
)
from infodropout.paper.errors import DataError


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
