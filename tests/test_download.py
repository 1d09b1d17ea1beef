"""Tests of infodropout.paper.data.download and of the real download path of load_mnist / process_cifar.py.

Every download goes to an HTTP server on 127.0.0.1 started by the test (port 0, in a thread), serving
files in the real formats (gzipped IDX, the CIFAR-10 tarball layout) that the tests write; the
checksum tables are replaced by the digests of those files. No other network is touched.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import os
import pickle
import socket
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.data import loaders as data

from infodropout.paper.data import checksums, download
from infodropout.paper.data.loaders import load_mnist
from infodropout.paper.errors import DataError
from infodropout.paper.data.formats import Dataset
from infodropout.paper.data.original_formats import read_cifar_folder
from infodropout.paper.data.archives import extract_cifar
from infodropout.paper.data.checksums import (
    CIFAR_TARBALL, MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, Checksum,
)
from infodropout.paper.data.download import fetch, fetch_cifar10, fetch_mnist

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------------
# A local file server that counts requests


class FileServer:
    """Serves ``files`` (name -> bytes) under ``url``; ``requests`` lists every path asked for.

    A name in ``cut`` is announced with its full Content-Length but only half of it is sent before
    the connection closes, as when a transfer breaks.
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append(name)
                if name not in server.files:
                    self.send_error(404, "Not Found")
                    return
                body = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if name in server.cut else body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    serving = FileServer()
    yield serving
    serving.close()


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port nothing listens on: bound, then closed, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file: big-endian magic, one uint32 per dimension, then the uint8 values."""
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def mnist_like(n_train: int = 30, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        MNIST_TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        MNIST_TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        MNIST_TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        MNIST_TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def mnist_gz_files(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {name: gzip.compress(idx_bytes(array, 2051 if array.ndim == 3 else 2049), mtime=0)
            for name, array in arrays.items()}


def sha256_table(files: dict[str, bytes]) -> dict[str, Checksum]:
    return {name: Checksum("sha256", hashlib.sha256(body).hexdigest(), len(body)) for name, body in files.items()}


def listing(folder: Path) -> list[str]:
    """Everything in ``folder`` (recursively, hidden files included), as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --------------------------------------------------------------------------------------------------
# MNIST through the real download path


def test_download_verifies_caches_and_never_refetches(server, tmp_path):
    arrays = mnist_like()
    server.files.update(mnist_gz_files(arrays))
    table = sha256_table(server.files)
    folder = tmp_path / "datasets"
    log = io.StringIO()
    paths = fetch_mnist(folder, base=server.url, checksums=table, progress=log)
    assert sorted(server.requests) == sorted(table)
    assert listing(folder) == sorted(table)  # nothing else: no temporary files left
    for name, path in paths.items():
        assert path == folder / name and path.read_bytes() == server.files[name]
    assert "100%" in log.getvalue() and server.url + MNIST_TRAIN_IMAGES in log.getvalue()

    # Second call, and a full load: verified from disk, no request.
    fetch_mnist(folder, base=server.url, checksums=table, progress=log)
    dataset = load_mnist(folder, base_url=server.url, checksums=table, progress=None)
    assert len(server.requests) == 4
    assert dataset.x_train.shape == (30, 28, 28, 1) and dataset.x_test.shape == (10, 28, 28, 1)
    assert dataset.x_train.dtype == np.float32 and dataset.y_train.dtype == np.int64
    np.testing.assert_array_equal(dataset.x_train[..., 0], arrays[MNIST_TRAIN_IMAGES] / np.float32(255))
    np.testing.assert_array_equal(dataset.y_test, arrays[MNIST_TEST_LABELS])
    assert 0.0 <= dataset.x_train.min() and dataset.x_train.max() <= 1.0


def test_base_url_from_environment(server, tmp_path, monkeypatch):
    server.files.update(mnist_gz_files(mnist_like()))
    monkeypatch.setenv(download.MNIST_URL_ENV, server.url.rstrip("/"))  # with or without the slash
    fetch_mnist(tmp_path, checksums=sha256_table(server.files), progress=None)
    assert len(server.requests) == 4


def test_wrong_checksum_removes_the_file_and_says_so(server, tmp_path):
    server.files.update(mnist_gz_files(mnist_like()))
    table = sha256_table(server.files)
    table[MNIST_TRAIN_IMAGES] = Checksum("sha256", "0" * 64, None)
    with pytest.raises(DataError, match=rf"{MNIST_TRAIN_IMAGES}.*sha256.*removed") as error:
        fetch_mnist(tmp_path / "datasets", base=server.url, checksums=table, progress=None)
    assert server.url + MNIST_TRAIN_IMAGES in str(error.value)
    assert MNIST_TRAIN_IMAGES not in listing(tmp_path / "datasets")
    assert not any(name.endswith(".part") for name in listing(tmp_path / "datasets"))


def test_wrong_size_removes_the_file(server, tmp_path):
    server.files["f.gz"] = b"x" * 100
    good = hashlib.sha256(b"x" * 100).hexdigest()
    with pytest.raises(DataError, match=r"100 bytes, not the published 99.*removed"):
        fetch("f.gz", server.url, tmp_path, Checksum("sha256", good, 99), progress=None)
    assert listing(tmp_path) == []


def test_server_down_gives_the_offline_message(closed_port_url, tmp_path):
    folder = tmp_path / "datasets"
    with pytest.raises(DataError) as error:
        fetch_mnist(folder, base=closed_port_url, progress=None)
    message = str(error.value)
    assert MNIST_TRAIN_IMAGES in message and closed_port_url + MNIST_TRAIN_IMAGES in message
    assert "offline" in message and "place it at" in message and download.MNIST_URL_ENV in message
    assert "\n" not in message
    assert listing(folder) == []


def test_http_404_is_a_clear_error(server, tmp_path):
    with pytest.raises(DataError, match=rf"HTTP 404.*{server.url}{MNIST_TRAIN_IMAGES}.*place it at"):
        fetch_mnist(tmp_path, base=server.url, checksums=sha256_table(mnist_gz_files(mnist_like())),
                    progress=None)
    assert server.requests == [MNIST_TRAIN_IMAGES]
    assert listing(tmp_path) == []


def test_broken_transfer_leaves_nothing(server, tmp_path):
    server.files["f.gz"] = os.urandom(50_000)
    server.cut.add("f.gz")
    checksum = Checksum("sha256", hashlib.sha256(server.files["f.gz"]).hexdigest(), None)
    with pytest.raises(DataError, match="f.gz"):
        fetch("f.gz", server.url, tmp_path, checksum, progress=None)
    assert listing(tmp_path) == []


def test_interrupted_download_leaves_nothing(server, tmp_path):
    """Ctrl-C during a download (here raised from the progress output) removes the partial file."""
    server.files["f.gz"] = os.urandom(10_000)

    class Interrupting(io.StringIO):
        def write(self, text):
            raise KeyboardInterrupt

    checksum = Checksum("sha256", hashlib.sha256(server.files["f.gz"]).hexdigest(), None)
    with pytest.raises(KeyboardInterrupt):
        fetch("f.gz", server.url, tmp_path, checksum, progress=Interrupting())
    assert listing(tmp_path) == []


def test_files_placed_by_hand_are_used_without_request(server, tmp_path):
    arrays = mnist_like()
    files = mnist_gz_files(arrays)
    for name, body in files.items():
        (tmp_path / name).write_bytes(body)
    dataset = load_mnist(tmp_path, base_url=server.url, checksums=sha256_table(files), progress=None)
    assert server.requests == []
    np.testing.assert_array_equal(dataset.y_train, arrays[MNIST_TRAIN_LABELS])


def test_uncompressed_files_placed_by_hand_are_used(server, tmp_path):
    arrays = mnist_like()
    for name, array in arrays.items():
        (tmp_path / name.removesuffix(".gz")).write_bytes(idx_bytes(array, 2051 if array.ndim == 3 else 2049))
    dataset = load_mnist(tmp_path, base_url=server.url, progress=None)  # the real checksum table
    assert server.requests == []
    np.testing.assert_array_equal(dataset.x_test[..., 0], arrays[MNIST_TEST_IMAGES] / np.float32(255))


def test_placed_file_with_wrong_checksum_is_reported_not_deleted(server, tmp_path):
    (tmp_path / MNIST_TRAIN_IMAGES).write_bytes(b"not the real file")
    with pytest.raises(DataError, match=rf"{MNIST_TRAIN_IMAGES}: its sha256 is .* not the published"):
        fetch_mnist(tmp_path, base=server.url, progress=None)
    assert (tmp_path / MNIST_TRAIN_IMAGES).read_bytes() == b"not the real file"
    assert server.requests == []


def test_published_checksums_are_recorded():
    """Guards the tables against accidental edits; values and sources are in the module docstring."""
    assert download.CIFAR_CHECKSUMS[CIFAR_TARBALL] == Checksum("md5", "c58f30108f718f92721af3b95e74349a",
                                                               170_498_071)
    assert set(download.MNIST_CHECKSUMS) == {MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, MNIST_TEST_IMAGES,
                                             MNIST_TEST_LABELS}
    for checksum in download.MNIST_CHECKSUMS.values():
        assert checksum.algorithm == "sha256" and len(checksum.hexdigest) == 64
        int(checksum.hexdigest, 16)
    assert download.MNIST_CHECKSUMS[MNIST_TRAIN_IMAGES].size == 9_912_422
    assert checksums.MNIST_MD5[MNIST_TRAIN_IMAGES] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"


# --------------------------------------------------------------------------------------------------
# CIFAR-10: the tarball, its extraction and process_cifar.py


def cifar_batch_bytes(rng: np.random.Generator, n: int, offset: int) -> bytes:
    batch = {b"batch_label": b"batch", b"labels": [(offset + i) % 10 for i in range(n)],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [b"x.png"] * n}
    return pickle.dumps(batch, protocol=2)


def add_member(archive: tarfile.TarFile, name: str, body: bytes = b"", kind: bytes = tarfile.REGTYPE,
               link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(body) if kind == tarfile.REGTYPE else 0
    archive.addfile(info, io.BytesIO(body) if kind == tarfile.REGTYPE else None)


def cifar_tarball(extra: list[tuple] = (), per_batch: int = 12) -> bytes:
    """A cifar-10-python.tar.gz in the official layout (folder, 5 training batches, test batch,
    batches.meta), with small batches; ``extra`` members are appended (for attacks)."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        add_member(archive, "cifar-10-batches-py", kind=tarfile.DIRTYPE)
        for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
            add_member(archive, f"cifar-10-batches-py/{name}", cifar_batch_bytes(rng, per_batch, index))
        add_member(archive, "cifar-10-batches-py/batches.meta",
                   pickle.dumps({b"label_names": [b"airplane"] * 10}, protocol=2))
        for member in extra:
            add_member(archive, *member)
    return buffer.getvalue()


def md5_table(body: bytes) -> dict[str, Checksum]:
    return {CIFAR_TARBALL: Checksum("md5", hashlib.md5(body).hexdigest(), len(body))}


def test_fetch_cifar10_downloads_and_extracts_once(server, tmp_path):
    server.files[CIFAR_TARBALL] = cifar_tarball()
    folder = fetch_cifar10(tmp_path, base=server.url, checksums=md5_table(server.files[CIFAR_TARBALL]),
                           progress=None)
    assert folder == tmp_path / "cifar-10-batches-py"
    dataset = read_cifar_folder(folder)
    assert dataset.x_train.shape == (60, 32, 32, 3) and dataset.x_test.shape == (12, 32, 32, 3)
    assert fetch_cifar10(tmp_path, base=server.url, progress=None) == folder
    assert server.requests == [CIFAR_TARBALL]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([CIFAR_TARBALL, "cifar-10-batches-py"])


@pytest.mark.parametrize("member", [
    ("cifar-10-batches-py/../../escaped", b"evil"),
    ("/tmp/absolute-infodropout-test", b"evil"),
    ("cifar-10-batches-py/link", b"", tarfile.SYMTYPE, "/etc/passwd"),
    ("elsewhere/file", b"evil"),
], ids=["dotdot", "absolute", "symlink", "outside-folder"])
def test_extraction_rejects_unsafe_members_and_writes_nothing(tmp_path, member):
    tarball = tmp_path / "in" / CIFAR_TARBALL
    tarball.parent.mkdir()
    tarball.write_bytes(cifar_tarball(extra=[member]))
    out = tmp_path / "out" / "datasets"
    out.mkdir(parents=True)
    with pytest.raises(DataError, match=r"refusing to extract member"):
        extract_cifar(tarball, out, progress=None)
    assert listing(out) == []
    assert listing(tmp_path / "out") == ["datasets"]
    assert not Path("/tmp/absolute-infodropout-test").exists()


def test_truncated_tarball_is_a_data_error(tmp_path):
    tarball = tmp_path / CIFAR_TARBALL
    body = cifar_tarball()
    tarball.write_bytes(body[: len(body) // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        extract_cifar(tarball, tmp_path, progress=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CIFAR_TARBALL]


def load_process_cifar():
    # The code ./process_cifar.py starts.
    return importlib.import_module("infodropout.paper.experiments.process_cifar")


def test_process_cifar_without_folder_downloads_then_processes(server, tmp_path, monkeypatch, capsys):
    server.files[CIFAR_TARBALL] = cifar_tarball()
    # The real table with the test tarball's digest: the script's own code path otherwise.
    monkeypatch.setitem(download.CIFAR_CHECKSUMS, CIFAR_TARBALL, md5_table(server.files[CIFAR_TARBALL])[CIFAR_TARBALL])
    monkeypatch.setenv(download.CIFAR_URL_ENV, server.url)
    out = tmp_path / "datasets"
    script = load_process_cifar()
    # The subject here is the download; the real preprocessing (a 3072-d ZCA, seconds) is tested by
    # test_data.test_process_cifar_end_to_end.
    monkeypatch.setattr(data, "preprocess_cifar", lambda dataset, progress: Dataset(
        dataset.x_train.astype(np.float32), dataset.y_train, dataset.x_test.astype(np.float32), dataset.y_test))
    assert script.main(["--out", str(out)]) == 0
    assert server.requests == [CIFAR_TARBALL]
    assert sorted(p.name for p in out.iterdir()) == sorted([CIFAR_TARBALL, "cifar-10-batches-py", "cifar10-test.npz",
                                                            "cifar10-train.npz"])
    with np.load(out / "cifar10-train.npz") as archive:
        assert archive["data"].shape == (60, 32, 32, 3) and archive["data"].dtype == np.float32
    assert "downloaded " + server.url + CIFAR_TARBALL in capsys.readouterr().err


def test_process_cifar_offline_is_one_line_and_leaves_nothing(closed_port_url, tmp_path):
    out = tmp_path / "datasets"
    env = dict(os.environ, **{download.CIFAR_URL_ENV: closed_port_url})
    result = subprocess.run([sys.executable, str(REPO / "process_cifar.py"), "--out", str(out)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert CIFAR_TARBALL in lines[0] and closed_port_url + CIFAR_TARBALL in lines[0] and "offline" in lines[0]
    assert listing(out) == []
