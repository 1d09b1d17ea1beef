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

The published names, sizes and digests, and the checks against them, are in
:mod:`infodropout.paper.data.checksums`; the tarball's safe extraction in :mod:`infodropout.paper.data.archives`.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from infodropout.paper.data.archives import extract_cifar
from infodropout.paper.data.checksums import (
    BLOCK, CIFAR_CHECKSUMS, CIFAR_FOLDER, CIFAR_TARBALL, CIFAR_URL_ENV, DEFAULT_CIFAR_URL, DEFAULT_FASHION_URL,
    DEFAULT_MNIST_URL, FASHION_CHECKSUMS, FASHION_CONTENT, FASHION_URL_ENV, MNIST_CHECKSUMS, MNIST_TRAIN_IMAGES,
    MNIST_URL_ENV, Checksum, file_digest, same_content, verify,
)
from infodropout.paper.errors import STDERR, DataError, remove_stale_partials


TIMEOUT_S = 60.0


def base_url(explicit: str | None, env: str, default: str) -> str:
    """The base URL to use: ``explicit`` if given, else the environment variable ``env``, else ``default``.

    A mirror is the usual reason to override it; ``file:///some/folder/`` works too, for a copy on a
    shared disk.
    """
    chosen = explicit or os.environ.get(env) or default
    return chosen if chosen.endswith("/") else chosen + "/"


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
