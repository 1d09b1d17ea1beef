"""Fetching the raw data sets on first use, verified against their published checksums.

MNIST and Fashion-MNIST (four gzipped IDX files each) and CIFAR-10 (the python tarball) are downloaded into the data
folder (``datasets/`` by default) the first time they are needed, checked, and then used from there:
a file that is already present and matches its checksum is never fetched again. Files placed there
by hand are used in the same way. Fashion-MNIST is also read, without a download, from where Debian's package
``dataset-fashion-mnist`` installs it (see :func:`fetch_fashion_mnist` for the order).

Why a small downloader of our own rather than ``keras.utils.get_file``, which the brief proposed
as the ecosystem's tool: in Keras 3.15 ``get_file``

* loads TensorFlow on import (about 2 s), and this module, like ``data``, must stay numpy-only so
  that preprocessing and the data tests run without it;
* writes straight to the final file name, so a killed download leaves a partial file where a
  later run (or a user) looks for the real one;
* on a checksum mismatch raises a ``ValueError`` but leaves the bad file in place, and on a
  network failure raises a bare ``Exception`` whose text names neither the file to place by hand
  nor where;
* silently re-downloads over a local file whose hash does not match, so a file a user placed by
  hand is overwritten rather than reported;
* prints a Keras progress bar to stdout, where the scripts' results go.

What replaces it is short: ``urllib`` streams into a temporary file in the destination folder
while hashing, the digest is compared, and only then is the file moved into place with
``os.replace`` (atomic on one file system). Every failure removes the temporary file and raises a
one-line :class:`~infodropout.paper.errors.DataError` naming the file, the URL and how to place the file
by hand.

Checksums. CIFAR-10: the MD5 published on the CIFAR-10 page, ``c58f30108f718f92721af3b95e74349a``
(170,498,071 bytes). MNIST: the SHA-256 digests and sizes of the files on the mirror TensorFlow
uses (https://storage.googleapis.com/cvdf-datasets/mnist/), as recorded by tensorflow-datasets'
download checksums and repeated identically by several independent projects; the same files have
the long-known MD5s (train-images f68b3c2d..., train-labels d53e105e..., t10k-images 9fb629c4...,
t10k-labels ec29112d...), kept in :data:`MNIST_MD5` for reference. Fashion-MNIST: see
:data:`FASHION_CHECKSUMS` and :data:`FASHION_CONTENT` (the digests of the decompressed files, which let
a re-gzipped copy such as Debian's pass).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import NamedTuple, TextIO

from infodropout.paper.errors import STDERR, DataError, remove_stale_partials


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
TIMEOUT_S = 60.0


def base_url(explicit: str | None, env: str, default: str) -> str:
    """The base URL to use: ``explicit`` if given, else the environment variable ``env``, else ``default``.

    A mirror is the usual reason to override it; ``file:///some/folder/`` works too, for a copy on a
    shared disk.
    """
    chosen = explicit or os.environ.get(env) or default
    return chosen if chosen.endswith("/") else chosen + "/"


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


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"


class _Progress:
    """A percentage line on a stream: rewritten in place on a terminal, one line per 10 % in a log."""

    def __init__(self, stream: TextIO | None, label: str, total: int | None):
        self.stream, self.label, self.total = stream, label, total
        self.interactive = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.shown = -1

    def update(self, done: int) -> None:
        if self.stream is None:
            return
        if self.total:
            step = int(100 * done / self.total) if self.interactive else 10 * int(10 * done / self.total)
            text = f"{step:3d}% of {_size(self.total)}"
        else:
            # No Content-Length: report every 10 MB instead.
            step = done // 10_000_000
            text = f"{done / 1e6:.0f} MB"
        if step == self.shown:
            return
        self.shown = step
        self._write(f"downloading {self.label}: {text}")

    def finish(self, done: int) -> None:
        if self.stream is not None:
            elapsed = time.monotonic() - self.started
            self._write(f"downloaded {self.label}: {_size(done)} in {elapsed:.1f} s", final=True)

    def _write(self, text: str, final: bool = False) -> None:
        if self.interactive:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def fetch(name: str, url_base: str, folder: str | os.PathLike, checksum: Checksum, *,
          url_env: str | None = None, progress: TextIO | None = STDERR,
          timeout: float = TIMEOUT_S, content: Checksum | None = None, also: str | None = None) -> Path:
    """``folder/name``, downloading it from ``url_base + name`` first if it is not there.

    A file already present is verified against ``checksum`` and used (never fetched again). A new
    download goes to a temporary file beside the target and is moved into place only once its
    size and digest match, so the folder never holds a partial or unverified file under the real
    name. ``url_env`` names the environment variable that overrides the URL, for the error messages.
    Progress goes to ``progress`` (stderr by default; None for silence). ``content``, for a gzip file,
    is the digest of its decompressed bytes: a file (present or downloaded) that fails ``checksum`` but
    decompresses to exactly those bytes is accepted, as a repackaging of the same data (a mirror that
    gzipped it again, such as Debian's Fashion-MNIST package). ``also`` is one more way to get the file,
    added to the advice of the errors. Raises :class:`DataError`.
    """
    folder = Path(folder)
    target = folder / name
    if target.is_file():
        verify(target, checksum, content)
        return target
    url = url_base + name
    by_hand = (f"download {url} by other means and place it at {target} "
               f"({checksum.algorithm} {checksum.hexdigest})")
    if url_env:
        by_hand += f", or set {url_env} to a mirror's base URL"
    if also:
        by_hand += f", or {also}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{folder}: cannot create the data folder ({error}); choose another one") from None
    remove_stale_partials(folder, name, ".part")  # a killed download's partial file
    temporary = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex}.part"
    try:
        received, digest = _download(url, temporary, checksum, progress, timeout)
    except _LocalWriteError as error:
        temporary.unlink(missing_ok=True)
        raise DataError(f"could not write the download of {name} into {folder} ({error.__cause__}); "
                        "free some space or choose another data folder") from None
    except urllib.error.HTTPError as error:
        temporary.unlink(missing_ok=True)
        raise DataError(f"could not download {name}: the server answered HTTP {error.code} {error.reason} "
                        f"for {url}; check the base URL, or {by_hand}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        temporary.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise DataError(f"could not download {name} from {url} ({reason}): this machine may be offline, "
                        f"or the server unreachable or the URL wrong; {by_hand}") from None
    except ValueError as error:  # e.g. "unknown url type" for a base URL without a scheme
        temporary.unlink(missing_ok=True)
        raise DataError(f"could not download {name} from {url}: {error}; check the base URL, or {by_hand}") from None
    except BaseException:
        # Ctrl-C in the middle of a download: nothing partial stays behind.
        temporary.unlink(missing_ok=True)
        raise
    published = (checksum.size is None or received == checksum.size) and digest == checksum.hexdigest
    if not published and same_content(temporary, content):
        os.replace(temporary, target)
        return target
    if checksum.size is not None and received != checksum.size:
        temporary.unlink(missing_ok=True)
        raise DataError(f"downloaded {name} from {url} but got {received} bytes, not the published "
                        f"{checksum.size}; the file was removed. Try again, or {by_hand}")
    if digest != checksum.hexdigest:
        temporary.unlink(missing_ok=True)
        raise DataError(f"downloaded {name} from {url} but its {checksum.algorithm} is {digest}, not the "
                        f"published {checksum.hexdigest} (a corrupt transfer or another version); the file "
                        f"was removed. Try again, or {by_hand}")
    os.replace(temporary, target)
    return target


class _LocalWriteError(Exception):
    """Writing the temporary file failed (disk full, no permission): not a network problem."""


def _download(url: str, temporary: Path, checksum: Checksum, progress: TextIO | None,
              timeout: float) -> tuple[int, str]:
    """Stream ``url`` into ``temporary`` while hashing it; returns (bytes received, hex digest)."""
    hasher = hashlib.new(checksum.algorithm)
    request = urllib.request.Request(url, headers={"User-Agent": "infodropout-data/1"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else checksum.size
        meter = _Progress(progress, url, total)
        received = 0
        try:
            # O_EXCL: the name is unique, and refusing to follow anything already there costs nothing.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            handle = os.fdopen(descriptor, "wb")
        except OSError as error:
            raise _LocalWriteError() from error
        with handle:
            # Network reads and disk writes both raise OSError; only the latter is "local".
            while block := response.read(BLOCK):
                try:
                    handle.write(block)
                except OSError as error:
                    raise _LocalWriteError() from error
                hasher.update(block)
                received += len(block)
                meter.update(received)
            try:
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as error:
                raise _LocalWriteError() from error
        # http.client stops quietly at a closed connection; a short body must not pass as the file.
        if length and length.isdigit() and received != int(length):
            raise http.client.IncompleteRead(b"", int(length) - received)
    meter.finish(received)
    return received, hasher.hexdigest()


def fetch_mnist(datasets_dir: str | os.PathLike = "datasets", base: str | None = None,
                checksums: Mapping[str, Checksum] | None = None,
                progress: TextIO | None = STDERR) -> dict[str, Path]:
    """The four MNIST IDX files (name -> path), downloaded into ``datasets_dir`` where missing.

    ``base`` overrides the mirror (else ``$INFODROPOUT_MNIST_URL``, else Google's CVDF mirror);
    ``checksums`` replaces the table of published digests, which only tests need.
    An uncompressed copy placed by hand (``train-images-idx3-ubyte`` without ``.gz``) is used as it
    is when the ``.gz`` is absent: there is no published digest for it, so only its IDX header and
    size are checked, when it is read.
    """
    table = MNIST_CHECKSUMS if checksums is None else checksums
    url = base_url(base, MNIST_URL_ENV, DEFAULT_MNIST_URL)
    folder = Path(datasets_dir)
    paths = {}
    for name, checksum in table.items():
        raw = folder / name.removesuffix(".gz")
        if not (folder / name).is_file() and raw != folder / name and raw.is_file():
            paths[name] = raw
        else:
            paths[name] = fetch(name, url, folder, checksum, url_env=MNIST_URL_ENV, progress=progress)
    return paths


# Debian's package dataset-fashion-mnist installs the four files (the official content, gzipped again) under
# this folder; its file list, which dpkg keeps, says where if a later version moves them.
DEBIAN_FASHION_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FASHION_LIST = Path("/var/lib/dpkg/info/dataset-fashion-mnist.list")
DEBIAN_FASHION_FOLDER = Path("/usr/share/datasets/fashion-mnist")
FASHION_INSTALL_HINT = f"install Debian's package (apt-get install {DEBIAN_FASHION_PACKAGE})"


def debian_fashion_folder(package_list: str | os.PathLike | None = None,
                          standard: str | os.PathLike | None = None) -> Path | None:
    """The folder holding Debian's Fashion-MNIST files, or None when the package is not installed.

    The folder of ``train-images-idx3-ubyte.gz`` in the package's file list (``package_list``, by default
    :data:`DEBIAN_FASHION_LIST`), else the package's standard folder (``standard``, by default
    :data:`DEBIAN_FASHION_FOLDER`) when it holds that file. The two arguments exist for tests.
    """
    package_list = Path(DEBIAN_FASHION_LIST if package_list is None else package_list)
    standard = Path(DEBIAN_FASHION_FOLDER if standard is None else standard)
    try:
        listed = package_list.read_text(errors="replace").splitlines()
    except OSError:
        listed = []
    for line in listed:
        path = Path(line.strip())
        if path.name == MNIST_TRAIN_IMAGES and path.is_file():
            return path.parent
    return standard if (standard / MNIST_TRAIN_IMAGES).is_file() else None


def _local_fashion_file(folder: Path, name: str, checksum: Checksum, content: Checksum | None) -> Path | None:
    """``folder/name``, or its uncompressed copy when only that is there, verified; None when neither is."""
    packed = folder / name
    if packed.is_file():
        verify(packed, checksum, content)
        return packed
    raw = folder / name.removesuffix(".gz")
    if raw != packed and raw.is_file() and content is not None:
        actual = file_digest(raw, content.algorithm)
        if actual != content.hexdigest:
            raise DataError(f"{raw}: its {content.algorithm} is {actual}, not the published {content.hexdigest} "
                            f"of the uncompressed Fashion-MNIST file; the file is corrupt or another version. "
                            f"Delete it to download {name} again, or replace it with the right file")
        return raw
    return None


def fetch_fashion_mnist(datasets_dir: str | os.PathLike = "datasets", base: str | None = None,
                        checksums: Mapping[str, Checksum] | None = None,
                        contents: Mapping[str, Checksum] | None = None,
                        progress: TextIO | None = STDERR,
                        package_folder: str | os.PathLike | None = None) -> dict[str, Path]:
    """The four Fashion-MNIST IDX files (name -> path), found where the machine has them.

    Each file is looked for, in this order:

    1. ``datasets_dir/fashion-mnist/`` (they have MNIST's file names, hence a folder of their own), gzipped
       or, placed by hand, uncompressed;
    2. when a base URL is given (``base``, else ``$INFODROPOUT_FASHION_URL``), downloaded from there into
       that folder (``file:///some/folder/`` serves a copy on a shared disk);
    3. the folder of Debian's package ``dataset-fashion-mnist`` (:func:`debian_fashion_folder`; tests pass
       ``package_folder``), read where it is, not copied;
    4. downloaded from the Zalando repository's data folder into ``datasets_dir/fashion-mnist/``.

    Which of these served the files is said in one line on ``progress`` (None: silence). Every file is
    verified wherever it comes from: the published SHA-256 and size (:data:`FASHION_CHECKSUMS`), or the
    published digest of its decompressed content (:data:`FASHION_CONTENT`), which Debian's files, gzipped
    again, pass. ``checksums`` and ``contents`` replace the tables, which only tests need. Raises
    :class:`DataError`, naming the file, where to place it, the variable and the Debian package.
    """
    table = FASHION_CHECKSUMS if checksums is None else checksums
    content_table = FASHION_CONTENT if contents is None else contents
    mirror = base or os.environ.get(FASHION_URL_ENV)
    url = base_url(mirror, FASHION_URL_ENV, DEFAULT_FASHION_URL)
    folder = fashion_folder(datasets_dir)
    system = Path(package_folder) if package_folder is not None else debian_fashion_folder()
    paths, sources = {}, {}
    for name, checksum in table.items():
        content = content_table.get(name)
        found = _local_fashion_file(folder, name, checksum, content)
        if found is not None:
            paths[name], sources[name] = found, f"{folder}/"
        elif not mirror and system is not None and (system / name).is_file():
            _verify_installed(system / name, checksum, content)
            paths[name], sources[name] = system / name, f"Debian's package {DEBIAN_FASHION_PACKAGE} ({system}/)"
        else:
            paths[name] = fetch(name, url, folder, checksum, url_env=FASHION_URL_ENV, progress=progress,
                                content=content, also=FASHION_INSTALL_HINT)
            sources[name] = f"{url}, downloaded into {folder}/"
    if progress is not None:
        print(f"Fashion-MNIST: {_sources_line(sources)}", file=progress, flush=True)
    return paths


def _verify_installed(path: Path, checksum: Checksum, content: Checksum | None) -> None:
    """:func:`verify` for a file of the Debian package, with advice that fits a file the user did not place."""
    try:
        verify(path, checksum, content)
    except DataError:
        raise DataError(f"{path}: the file of Debian's package {DEBIAN_FASHION_PACKAGE} matches neither the published "
                        f"{checksum.algorithm} nor the published content; reinstall it (apt-get install --reinstall "
                        f"{DEBIAN_FASHION_PACKAGE}), or place the official files in datasets/fashion-mnist/, "
                        f"or set {FASHION_URL_ENV} to a mirror's base URL") from None


def _sources_line(sources: Mapping[str, str]) -> str:
    """'the files in X' when one source served all, else each file with its source."""
    distinct = list(dict.fromkeys(sources.values()))
    if len(distinct) == 1:
        return f"the files from {distinct[0]}"
    return "; ".join(f"{name} from {source}" for name, source in sources.items())


def fashion_folder(datasets_dir: str | os.PathLike = "datasets") -> Path:
    """Where the Fashion-MNIST files live: ``datasets_dir/fashion-mnist/``."""
    return Path(datasets_dir) / "fashion-mnist"


def fetch_cifar10(datasets_dir: str | os.PathLike = "datasets", base: str | None = None,
                  checksums: Mapping[str, Checksum] | None = None,
                  progress: TextIO | None = STDERR) -> Path:
    """The extracted ``cifar-10-batches-py`` folder in ``datasets_dir``, downloading and extracting
    ``cifar-10-python.tar.gz`` first if the folder is not there.

    A folder already present (extracted by hand, say) is used as it is; the tarball is kept after
    extraction, as the verified cache. ``base`` overrides the URL (else ``$INFODROPOUT_CIFAR_URL``,
    else the CIFAR-10 page's folder).
    """
    folder = Path(datasets_dir)
    extracted = folder / CIFAR_FOLDER
    if extracted.is_dir():
        return extracted
    table = CIFAR_CHECKSUMS if checksums is None else checksums
    url = base_url(base, CIFAR_URL_ENV, DEFAULT_CIFAR_URL)
    tarball = fetch(CIFAR_TARBALL, url, folder, table[CIFAR_TARBALL], url_env=CIFAR_URL_ENV, progress=progress)
    return extract_cifar(tarball, folder, progress=progress)


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be extracted, or None if it is a plain file or folder inside the archive."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or member.name.startswith(("/", "\\")) or (path.parts and ":" in path.parts[0]):
        return "an absolute path"
    if ".." in path.parts or "\\" in member.name:
        return "a path leaving the archive's folder ('..')"
    if not (member.isfile() or member.isdir()):
        return "a link or special file"
    if path.parts[:1] != (CIFAR_FOLDER,):
        return f"a path outside {CIFAR_FOLDER}/"
    return None


def extract_cifar(tarball: str | os.PathLike, folder: str | os.PathLike,
                  progress: TextIO | None = STDERR) -> Path:
    """Extract the CIFAR-10 python tarball into ``folder/cifar-10-batches-py`` safely and atomically.

    Every member is checked BEFORE anything is written: absolute paths, '..' components, links,
    devices and anything outside ``cifar-10-batches-py/`` make the whole archive a DataError, since
    the official archive holds none of them and a crafted one could write outside the data folder.
    The files are extracted into a temporary folder that is renamed into place at the end, so an
    interrupted extraction never leaves a half-filled ``cifar-10-batches-py`` behind.
    """
    tarball, folder = Path(tarball), Path(folder)
    target = folder / CIFAR_FOLDER
    remove_stale_partials(folder, CIFAR_FOLDER, ".part")  # a killed extraction's half-filled folder
    staging = folder / f".{CIFAR_FOLDER}.{os.getpid()}.{uuid.uuid4().hex}.part"
    try:
        with tarfile.open(tarball, "r:*") as archive:
            members = archive.getmembers()
            for member in members:
                reason = _unsafe_reason(member)
                if reason:
                    raise DataError(f"{tarball}: refusing to extract member {member.name!r}, {reason}; "
                                    f"this is not the official CIFAR-10 archive")
            if progress is not None:
                print(f"extracting {tarball} into {target}", file=progress, flush=True)
            staging.mkdir(parents=True)
            # The 'data' filter (Python >= 3.11.4) repeats the checks above and drops odd permissions.
            extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(staging, members=members, **extra)
        if not (staging / CIFAR_FOLDER).is_dir():
            raise DataError(f"{tarball}: the archive holds no {CIFAR_FOLDER}/ folder; "
                            "this is not the CIFAR-10 python version")
        if not target.is_dir():  # else another process finished first: keep its copy
            os.replace(staging / CIFAR_FOLDER, target)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{tarball}: truncated or corrupt archive ({type(error).__name__}: {error}); "
                        "delete it and run again to download it") from error
    finally:
        # rmtree does not follow links, and the members were checked to hold none anyway.
        shutil.rmtree(staging, ignore_errors=True)
    return target
