"""What each raw data file must be: its published name, size and digest, and the checks against them.

MNIST: the SHA-256 digests and sizes of the files on the mirror TensorFlow uses, as recorded by tensorflow-datasets'
download checksums and repeated identically by several independent projects (the long-known MD5s kept in
:data:`MNIST_MD5` for reference). Fashion-MNIST: :data:`FASHION_CHECKSUMS`, and :data:`FASHION_CONTENT`, the digests
of the decompressed files, which let a re-gzipped copy such as Debian's pass. CIFAR-10: the MD5 published on its
page. Files are hashed in blocks, so that a 170 MB tarball is never held in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path
from typing import NamedTuple

from infodropout.paper.errors import DataError

class Checksum(NamedTuple):
    """The published digest of a file: ``algorithm`` is a :mod:`hashlib` name, ``size`` in bytes or None."""

    algorithm: str
    hexdigest: str
    size: int | None = None


MNIST_URL_ENV = "INFODROPOUT_MNIST_URL"
CIFAR_URL_ENV = "INFODROPOUT_CIFAR_URL"
DEFAULT_MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
DEFAULT_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"

MNIST_TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
MNIST_TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
MNIST_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
MNIST_TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

MNIST_CHECKSUMS: dict[str, Checksum] = {
    MNIST_TRAIN_IMAGES: Checksum("sha256", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                                 9_912_422),
    MNIST_TRAIN_LABELS: Checksum("sha256", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                                 28_881),
    MNIST_TEST_IMAGES: Checksum("sha256", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                                1_648_877),
    MNIST_TEST_LABELS: Checksum("sha256", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                                4_542),
}
# The same four files' MD5s, for anyone comparing with other tools; the SHA-256 above is what is checked.
MNIST_MD5 = {
    MNIST_TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    MNIST_TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    MNIST_TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    MNIST_TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}

# Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, MIT licence): the four files of the Zalando repository's
# data folder, in MNIST's IDX format and under MNIST's names. SHA-256 and sizes of the official files, as
# recorded by tensorflow-datasets and repeated identically by several independent projects; their MD5s are
# the ones the Zalando README publishes (kept in FASHION_MD5 for reference).
FASHION_URL_ENV = "INFODROPOUT_FASHION_URL"
DEFAULT_FASHION_URL = "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
FASHION_CHECKSUMS: dict[str, Checksum] = {
    MNIST_TRAIN_IMAGES: Checksum("sha256", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                                 26_421_880),
    MNIST_TRAIN_LABELS: Checksum("sha256", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                                 29_515),
    MNIST_TEST_IMAGES: Checksum("sha256", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                                4_422_102),
    MNIST_TEST_LABELS: Checksum("sha256", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                                5_148),
}
FASHION_MD5 = {
    MNIST_TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    MNIST_TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
    MNIST_TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
    MNIST_TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
}
# The digests of the same files' decompressed content (the IDX bytes). Debian's package
# dataset-fashion-mnist ships the official content gzipped again (no file name in the gzip header, another
# time stamp), so its .gz files are 23-24 bytes shorter and match neither digest above, yet decompress to
# exactly these bytes: a .gz whose own digest differs but whose content matches is accepted as a
# repackaging. These agree with the MD5s of the decompressed files that torchvision pins (f4a8712d...,
# 9018921c..., 8181f547..., 15d48437...) and with SHA-256s of the raw files recorded by other projects.
FASHION_CONTENT: dict[str, Checksum] = {
    MNIST_TRAIN_IMAGES: Checksum("sha256", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                                 47_040_016),
    MNIST_TRAIN_LABELS: Checksum("sha256", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                                 60_008),
    MNIST_TEST_IMAGES: Checksum("sha256", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                                7_840_016),
    MNIST_TEST_LABELS: Checksum("sha256", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                                10_008),
}

CIFAR_TARBALL = "cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_CHECKSUMS: dict[str, Checksum] = {
    CIFAR_TARBALL: Checksum("md5", "c58f30108f718f92721af3b95e74349a", 170_498_071),
}

BLOCK = 1 << 20


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest of a file, read in blocks so that a 170 MB tarball is never held in memory."""
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            hasher.update(block)
    return hasher.hexdigest()


def gunzipped_digest(path: str | os.PathLike, algorithm: str) -> tuple[str, int] | None:
    """(hex digest, size) of the decompressed content of a gzip file, streamed; None if it is not a
    whole gzip stream (truncated, corrupt or not gzip at all)."""
    hasher = hashlib.new(algorithm)
    size = 0
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(BLOCK), b""):
                hasher.update(block)
                size += len(block)
    except (OSError, EOFError, zlib.error):
        return None
    return hasher.hexdigest(), size


def same_content(path: str | os.PathLike, content: Checksum | None) -> bool:
    """Whether the gzip file ``path`` decompresses to the bytes ``content`` describes (digest and size):
    a repackaging of the published file (gzipped again, as Debian's packages do) rather than another
    version. False when ``content`` is None."""
    if content is None:
        return False
    found = gunzipped_digest(path, content.algorithm)
    return found is not None and found[0] == content.hexdigest and content.size in (None, found[1])


def verify(path: Path, checksum: Checksum, content: Checksum | None = None) -> None:
    """Raise a DataError if ``path`` does not match ``checksum``; the file is left where it is.

    Used on files already in the data folder. They were either downloaded by :func:`fetch` (and so
    verified before being moved there) or placed by hand, so a mismatch means a corrupt disk copy
    or a user's file of another version: the user is told, and the file is not deleted behind their back.
    With ``content`` (the digest of a gzip file's decompressed bytes), a file whose own digest differs
    but whose content matches is accepted (see :func:`same_content`).
    """
    actual = file_digest(path, checksum.algorithm)
    if actual != checksum.hexdigest and not same_content(path, content):
        raise DataError(f"{path}: its {checksum.algorithm} is {actual}, not the published {checksum.hexdigest}; "
                        f"the file is corrupt or another version. Delete it to download it again, "
                        f"or replace it with the right file")
