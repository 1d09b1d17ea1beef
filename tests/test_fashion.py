"""Fashion-MNIST (the full-size stand-in for CIFAR-10) and Occluded Fashion-MNIST: download and
verification, the CIFAR-shaped cache, the occluded set, and the scripts that select them.

The downloads go to an HTTP server on 127.0.0.1 (tests/test_download.py's) or a file:// folder,
serving gzipped IDX files the tests write, with the checksum tables replaced by those files' digests.
Debian's package folder is a fake one the tests write, except in one slow test that reads the real files
of dataset-fashion-mnist when they are installed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.data import fashion

from infodropout.paper.data import checksums, download

from infodropout.paper.data import generate
from infodropout.paper.data.checksums import (
    MNIST_TEST_IMAGES,
    MNIST_TEST_LABELS,
    MNIST_TRAIN_IMAGES,
    MNIST_TRAIN_LABELS,
    Checksum,
)
from infodropout.paper.errors import DataError
from infodropout.paper.data.formats import Dataset, fashion_cifar_path, mnist_sample_uint8, occluded_fashion_path
from infodropout.paper.data.preprocessing import pad_to_cifar_shape, per_image_standardize
from test_download import idx_bytes, listing, server  # noqa: F401  (server is a fixture)
from test_scripts import ENV, ROOT, run

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def fashion_like(n_train: int = 40, n_test: int = 12, seed: int = 1) -> dict[str, np.ndarray]:
    """Fashion-MNIST-shaped arrays: dark background, a bright 'garment' block, labels 0..9."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for images, labels, n in ((MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, n_train),
                              (MNIST_TEST_IMAGES, MNIST_TEST_LABELS, n_test)):
        x = np.zeros((n, 28, 28), dtype=np.uint8)
        x[:, 4:24, 6:22] = rng.integers(60, 256, (n, 20, 16), dtype=np.uint8)
        arrays[images] = x
        arrays[labels] = (np.arange(n) % 10).astype(np.uint8)
    return arrays


def raw_bytes(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {name: idx_bytes(array, 2051 if array.ndim == 3 else 2049) for name, array in arrays.items()}


def gzipped(raw: dict[str, bytes], mtime: int = 0) -> dict[str, bytes]:
    return {name: gzip.compress(body, mtime=mtime) for name, body in raw.items()}


def tables(raw: dict[str, bytes], published: dict[str, bytes]) -> tuple[dict, dict]:
    """(checksums of the 'published' .gz files, digests of their content), as download.py's tables."""
    checksums = {name: Checksum("sha256", hashlib.sha256(body).hexdigest(), len(body))
                 for name, body in published.items()}
    contents = {name: Checksum("sha256", hashlib.sha256(body).hexdigest(), len(body)) for name, body in raw.items()}
    return checksums, contents


# --------------------------------------------------------------------------------------------------
# Download and verification


@pytest.fixture(autouse=True)
def no_debian_package(tmp_path, monkeypatch):
    """The tests do not see this machine's Debian package unless they install a fake one (or say so)."""
    monkeypatch.setattr(download, "DEBIAN_FASHION_LIST", tmp_path / "no-such-package.list")
    monkeypatch.setattr(download, "DEBIAN_FASHION_FOLDER", tmp_path / "no-such-folder")
    monkeypatch.delenv(download.FASHION_URL_ENV, raising=False)


def test_download_into_its_own_folder_from_the_mirror_variable(server, tmp_path, monkeypatch):
    arrays = fashion_like()
    raw = raw_bytes(arrays)
    server.files.update(gzipped(raw))
    checksums, contents = tables(raw, server.files)
    monkeypatch.setenv(download.FASHION_URL_ENV, server.url)
    folder = tmp_path / "datasets"
    dataset = fashion.read_fashion_mnist(folder, checksums=checksums, contents=contents, progress=None)
    assert sorted(server.requests) == sorted(checksums)
    # MNIST's file names, so a folder of their own: full MNIST can sit beside them in datasets/.
    assert listing(folder) == ["fashion-mnist"] + [f"fashion-mnist/{name}" for name in sorted(checksums)]
    np.testing.assert_array_equal(dataset.x_train, arrays[MNIST_TRAIN_IMAGES])
    np.testing.assert_array_equal(dataset.y_test, arrays[MNIST_TEST_LABELS])
    assert dataset.y_train.dtype == np.int64

    as_mnist = fashion.load_fashion_mnist(folder, checksums=checksums, contents=contents, progress=None)
    assert len(server.requests) == 4  # verified from disk, not fetched again
    assert as_mnist.x_train.shape == (40, 28, 28, 1) and as_mnist.x_train.dtype == np.float32
    np.testing.assert_array_equal(as_mnist.x_test[..., 0], arrays[MNIST_TEST_IMAGES] / np.float32(255))


def test_a_regzipped_copy_passes_by_its_content_and_other_content_is_removed(server, tmp_path):
    raw = raw_bytes(fashion_like())
    published = gzipped(raw, mtime=1_500_000_000)
    checksums, contents = tables(raw, published)
    # Debian's case: the same content gzipped again (another header), so the .gz digest differs.
    server.files.update(gzipped(raw, mtime=0))
    assert server.files[MNIST_TRAIN_IMAGES] != published[MNIST_TRAIN_IMAGES]
    folder = tmp_path / "ok"
    paths = download.fetch_fashion_mnist(folder, server.url, checksums, contents, progress=None)
    assert paths[MNIST_TRAIN_IMAGES].read_bytes() == server.files[MNIST_TRAIN_IMAGES]
    download.fetch_fashion_mnist(folder, server.url, checksums, contents, progress=None)  # accepted on disk too
    assert len(server.requests) == 4

    # Content that differs by one pixel: neither digest matches, the download is removed.
    changed = dict(raw)
    body = bytearray(changed[MNIST_TEST_IMAGES])
    body[-1] ^= 0xFF
    server.files[MNIST_TEST_IMAGES] = gzip.compress(bytes(body), mtime=0)
    bad = tmp_path / "bad"
    with pytest.raises(DataError, match=rf"{MNIST_TEST_IMAGES}.*removed.*{download.FASHION_URL_ENV}"):
        download.fetch_fashion_mnist(bad, server.url, checksums, contents, progress=None)
    assert MNIST_TEST_IMAGES not in " ".join(listing(bad))
    assert not any(name.endswith(".part") for name in listing(bad))

    # The same file placed by hand is reported and left alone.
    shutil.copy(bad.parent / "ok" / "fashion-mnist" / MNIST_TRAIN_IMAGES, bad / "fashion-mnist" / MNIST_TEST_IMAGES)
    with pytest.raises(DataError, match="corrupt or another version"):
        download.fetch_fashion_mnist(bad, server.url, checksums, contents, progress=None)
    assert (bad / "fashion-mnist" / MNIST_TEST_IMAGES).is_file()


def test_a_file_url_folder_serves_as_mirror_and_raw_copies_are_checked(tmp_path):
    raw = raw_bytes(fashion_like())
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, body in gzipped(raw, mtime=7).items():
        (mirror / name).write_bytes(body)
    checksums, contents = tables(raw, gzipped(raw, mtime=8))
    paths = download.fetch_fashion_mnist(tmp_path / "a", f"file://{mirror}", checksums, contents, progress=None)
    assert all(path.read_bytes() == (mirror / name).read_bytes() for name, path in paths.items())

    # Uncompressed copies placed by hand are used, checked against the content digest.
    folder = download.fashion_folder(tmp_path / "b")
    folder.mkdir(parents=True)
    for name, body in raw.items():
        (folder / name.removesuffix(".gz")).write_bytes(body)
    paths = download.fetch_fashion_mnist(tmp_path / "b", "file:///nonexistent/", checksums, contents, progress=None)
    assert paths[MNIST_TRAIN_IMAGES] == folder / "train-images-idx3-ubyte"
    (folder / "t10k-labels-idx1-ubyte").write_bytes(raw[MNIST_TRAIN_LABELS])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: its sha256"):
        download.fetch_fashion_mnist(tmp_path / "b", "file:///nonexistent/", checksums, contents, progress=None)


def _fake_package(root: Path, raw: dict[str, bytes], monkeypatch, listed: bool = True) -> Path:
    """Debian's package as dpkg leaves it, under ``root``: the four files gzipped again (another header
    than the 'published' ones) in the package's folder, and, if ``listed``, dpkg's file list naming them."""
    folder = root / "usr/share/datasets/fashion-mnist"
    folder.mkdir(parents=True)
    for name, body in gzipped(raw, mtime=1_591_315_200).items():
        (folder / name).write_bytes(body)
    package_list = root / "var/lib/dpkg/info/dataset-fashion-mnist.list"
    package_list.parent.mkdir(parents=True)
    lines = ["/.", "/usr", "/usr/share", str(folder)] + [str(folder / name) for name in sorted(raw)] if listed else []
    package_list.write_text("\n".join(lines + ["/usr/share/doc/dataset-fashion-mnist/copyright"]) + "\n")
    monkeypatch.setattr(download, "DEBIAN_FASHION_LIST", package_list)
    monkeypatch.setattr(download, "DEBIAN_FASHION_FOLDER", root / "standard-folder-unused")
    return folder


def test_the_files_are_found_in_order_local_then_variable_then_debian_then_download(tmp_path, monkeypatch):
    arrays = fashion_like()
    raw = raw_bytes(arrays)
    checksums, contents = tables(raw, gzipped(raw))  # the 'published' files: mtime 0
    package = _fake_package(tmp_path / "root", raw, monkeypatch)
    mirror, _, _ = _mirror(tmp_path, arrays)
    # The default URL leads to a folder that does not exist: any attempt to download fails, offline.
    monkeypatch.setattr(download, "DEFAULT_FASHION_URL", f"file://{tmp_path}/no-download/")
    datasets = tmp_path / "datasets"
    local = download.fashion_folder(datasets)

    # 3. Nothing local, no variable: the package's files, read where they are (nothing is copied).
    log = io.StringIO()
    paths = download.fetch_fashion_mnist(datasets, checksums=checksums, contents=contents, progress=log)
    assert paths == {name: package / name for name in checksums}
    assert not local.exists()
    assert log.getvalue() == f"Fashion-MNIST: the files from Debian's package dataset-fashion-mnist ({package}/)\n"
    np.testing.assert_array_equal(fashion.read_fashion_mnist(datasets, checksums=checksums, contents=contents,
                                                          progress=None).x_train, arrays[MNIST_TRAIN_IMAGES])

    # 2. The variable, once set, comes before the package: its files are downloaded into datasets/.
    monkeypatch.setenv(download.FASHION_URL_ENV, mirror)
    log = io.StringIO()
    paths = download.fetch_fashion_mnist(datasets, checksums=checksums, contents=contents, progress=log)
    assert paths == {name: local / name for name in checksums}
    said = [line for line in log.getvalue().splitlines() if not line.startswith("download")]  # progress lines
    assert said == [f"Fashion-MNIST: the files from {mirror}, downloaded into {local}/"]

    # 1. The data folder comes first: with the variable leading nowhere, its files are used.
    monkeypatch.setenv(download.FASHION_URL_ENV, f"file://{tmp_path}/nowhere/")
    log = io.StringIO()
    assert download.fetch_fashion_mnist(datasets, checksums=checksums, contents=contents, progress=log) == paths
    assert log.getvalue() == f"Fashion-MNIST: the files from {local}/\n"

    # A file missing from the data folder is taken from the next source; the line names each file's.
    monkeypatch.delenv(download.FASHION_URL_ENV)
    (local / MNIST_TEST_LABELS).unlink()
    log = io.StringIO()
    paths = download.fetch_fashion_mnist(datasets, checksums=checksums, contents=contents, progress=log)
    assert paths[MNIST_TEST_LABELS] == package / MNIST_TEST_LABELS
    assert paths[MNIST_TRAIN_LABELS] == local / MNIST_TRAIN_LABELS
    assert f"{MNIST_TEST_LABELS} from Debian's package" in log.getvalue() and log.getvalue().count("\n") == 1

    # 4. Without the package, the download (the default URL), into datasets/; offline, the error names
    # every way to get the files.
    shutil.rmtree(tmp_path / "root")
    with pytest.raises(DataError) as error:
        download.fetch_fashion_mnist(datasets, checksums=checksums, contents=contents, progress=None)
    message = str(error.value)
    assert "\n" not in message and f"could not download {MNIST_TEST_LABELS}" in message
    assert f"place it at {local / MNIST_TEST_LABELS}" in message
    assert download.FASHION_URL_ENV in message and "apt-get install dataset-fashion-mnist" in message
    monkeypatch.setattr(download, "DEFAULT_FASHION_URL", mirror)
    log = io.StringIO()
    paths = download.fetch_fashion_mnist(datasets, checksums=checksums, contents=contents, progress=log)
    assert paths[MNIST_TEST_LABELS] == local / MNIST_TEST_LABELS
    said = log.getvalue().splitlines()[-1]
    assert said.startswith("Fashion-MNIST: ") and f"{MNIST_TEST_LABELS} from {mirror}, downloaded into {local}/" in said


def test_the_package_is_found_by_its_standard_folder_and_a_bad_file_of_it_is_named(tmp_path, monkeypatch):
    raw = raw_bytes(fashion_like())
    checksums, contents = tables(raw, gzipped(raw))
    package = _fake_package(tmp_path / "root", raw, monkeypatch, listed=False)
    assert download.debian_fashion_folder() is None  # the list names no data file, the standard folder has none
    monkeypatch.setattr(download, "DEBIAN_FASHION_FOLDER", package)
    assert download.debian_fashion_folder() == package
    paths = download.fetch_fashion_mnist(tmp_path / "datasets", checksums=checksums, contents=contents, progress=None)
    assert paths[MNIST_TRAIN_IMAGES] == package / MNIST_TRAIN_IMAGES

    # Another content in the package's folder: an error naming the file and how to repair it; nothing is touched.
    (package / MNIST_TEST_IMAGES).write_bytes(gzip.compress(raw[MNIST_TRAIN_IMAGES]))
    with pytest.raises(DataError, match=rf"{package / MNIST_TEST_IMAGES}: the file of Debian's package.*"
                                        r"apt-get install --reinstall dataset-fashion-mnist"):
        download.fetch_fashion_mnist(tmp_path / "datasets", checksums=checksums, contents=contents, progress=None)
    assert (package / MNIST_TEST_IMAGES).is_file() and not (tmp_path / "datasets").exists()


def test_pinned_tables_are_the_official_files():
    # The official .gz sizes exceed the content's gzip-header-less repackaging by the stored file name.
    assert {name: c.size for name, c in download.FASHION_CHECKSUMS.items()} == {
        MNIST_TRAIN_IMAGES: 26_421_880, MNIST_TRAIN_LABELS: 29_515, MNIST_TEST_IMAGES: 4_422_102,
        MNIST_TEST_LABELS: 5_148}
    # Decompressed: 16-byte image header + N·784, 8-byte label header + N.
    assert {name: c.size for name, c in download.FASHION_CONTENT.items()} == {
        MNIST_TRAIN_IMAGES: 16 + 60_000 * 784, MNIST_TRAIN_LABELS: 8 + 60_000,
        MNIST_TEST_IMAGES: 16 + 10_000 * 784, MNIST_TEST_LABELS: 8 + 10_000}
    assert download.DEFAULT_FASHION_URL.startswith("https://") and download.DEFAULT_FASHION_URL.endswith("/")


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed "
                                                "(apt-get install dataset-fashion-mnist)")
@pytest.mark.slow
def test_the_debian_files_are_found_without_a_variable_and_train_mnist_fc(tmp_path):
    """The one check on the real files: mnist_fc.py with dataset=fashion finds the package's files itself."""
    import subprocess
    import sys

    env = {key: value for key, value in ENV.items() if key != download.FASHION_URL_ENV}
    result = subprocess.run([sys.executable, str(ROOT / "mnist_fc.py"), "train", "with", "dataset=fashion",
                             "num_train=2000", "num_test=1000", "epochs=2", "width=128", "verbose=0"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"Fashion-MNIST: the files from Debian's package dataset-fashion-mnist ({DEBIAN}/)" in result.stderr
    assert not download.fashion_folder(tmp_path / "datasets").exists()  # read where they are, not copied
    for name, content in download.FASHION_CONTENT.items():
        assert checksums.gunzipped_digest(DEBIAN / name, "sha256") == (content.hexdigest, content.size)
    assert (tmp_path / "models" / "mnist_fc.dataset=fashion.epochs=2.num_test=1000.num_train=2000.width=128.keras"
            ).is_file()
    error = float(re.search(r"Test: .*error (\d+\.\d+)", result.stdout).group(1))
    assert error < 40  # real clothing images learnt (chance: 90 %)


# --------------------------------------------------------------------------------------------------
# Fashion-MNIST in CIFAR-10's form, and Occluded Fashion-MNIST


def test_cifar_py_reads_fashion_from_its_own_cache_and_names_runs_apart(tmp_path):
    from infodropout.paper.experiments import cifar

    folder = tmp_path / "datasets"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 50), ("test", 20)):  # the cache's real layout; random values: plumbing only
        np.savez(fashion_cifar_path(folder, split),
                 data=rng.normal(size=(n, 32, 32, 3)).astype("float32"), labels=rng.integers(0, 10, size=n))
    config = {**cifar.DEFAULTS, "dataset": "fashion", "datasets_dir": str(folder), "num_train": 30}
    loaded = cifar.load_data(config)
    assert loaded.x_train.shape == (30, 32, 32, 3) and len(loaded.x_test) == 20
    assert cifar.run_name("cifar", config, cifar.DEFAULTS) == "cifar.dataset=fashion.num_train=30"
    assert not (folder / "cifar10-train.npz").exists()


def test_pad_to_cifar_shape_keeps_the_pixels_and_dtype():
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    padded = pad_to_cifar_shape(x)
    assert padded.shape == (3, 32, 32, 3) and padded.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(padded[:, 2:30, 2:30, channel], x)
    assert padded.sum() == 3 * x.astype(np.int64).sum()  # the border is zero
    with pytest.raises(ValueError, match="28, 28"):
        pad_to_cifar_shape(np.zeros((2, 32, 32), np.uint8))


def standardise_only(dataset, progress=None):
    """A stand-in for preprocess_cifar without its ZCA: fitting a 3,072 × 3,072 whitening takes minutes on
    the shared 2 cores, and preprocess_cifar has tests of its own. Records what it was given."""
    standardise_only.given = dataset
    return Dataset(per_image_standardize(dataset.x_train), np.asarray(dataset.y_train, np.int64),
                   per_image_standardize(dataset.x_test), np.asarray(dataset.y_test, np.int64))


def _mirror(tmp_path, arrays) -> tuple[str, dict, dict]:
    raw = raw_bytes(arrays)
    mirror = tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    for name, body in gzipped(raw).items():
        (mirror / name).write_bytes(body)
    checksums, contents = tables(raw, gzipped(raw))
    return f"file://{mirror}/", checksums, contents


def test_fashion_cifar_is_padded_then_preprocessed_as_cifar_and_cached_apart(tmp_path, monkeypatch):
    arrays = fashion_like()
    url, checksums, contents = _mirror(tmp_path, arrays)
    folder = tmp_path / "datasets"
    log = io.StringIO()
    monkeypatch.setattr(fashion, "preprocess_cifar", standardise_only)
    loaded = fashion.load_fashion_cifar(folder, url, checksums, contents, progress=log)
    given = standardise_only.given  # CIFAR-10's preprocessing received the padded uint8 images
    assert given.x_train.dtype == np.uint8
    np.testing.assert_array_equal(given.x_train, pad_to_cifar_shape(arrays[MNIST_TRAIN_IMAGES]))
    np.testing.assert_array_equal(given.x_test, pad_to_cifar_shape(arrays[MNIST_TEST_IMAGES]))
    expected = standardise_only(given)
    np.testing.assert_array_equal(loaded.x_train, expected.x_train)
    np.testing.assert_array_equal(loaded.x_test, expected.x_test)
    np.testing.assert_array_equal(loaded.y_train, arrays[MNIST_TRAIN_LABELS])
    assert loaded.x_train.shape == (40, 32, 32, 3) and loaded.x_train.dtype == np.float32
    assert fashion_cifar_path(folder, "train").is_file() and not (folder / "cifar10-train.npz").exists()
    assert "writing" in log.getvalue()

    # Cached: read again without its sources.
    shutil.rmtree(download.fashion_folder(folder))
    again = fashion.load_fashion_cifar(folder, "file:///nonexistent/", checksums, contents, progress=None)
    np.testing.assert_array_equal(again.x_test, loaded.x_test)


def test_occluded_fashion_paints_mnist_digits_as_occluded_cifar_does(tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "preprocess_cifar", standardise_only)
    arrays = fashion_like(n_train=30, n_test=10)
    url, checksums, contents = _mirror(tmp_path, arrays)
    folder = tmp_path / "datasets"
    # No full MNIST in datasets/: "auto" takes the embedded sample, and says so.
    assert fashion.occluded_fashion_digits(folder, "auto") == "sample"
    log = io.StringIO()
    loaded = fashion.load_occluded_fashion(folder, digits="auto", base_url=url, checksums=checksums,
                                        contents=contents, progress=log)
    assert "embedded MNIST sample" in log.getvalue()
    assert occluded_fashion_path(folder, "train", "sample").name == "occluded-fashion-sample-train.npz"
    assert occluded_fashion_path(folder, "train", "sample").is_file()

    sample = mnist_sample_uint8()
    made = [generate.occlude(pad_to_cifar_shape(arrays[images]), arrays[labels], digits, digit_labels, stream=stream)
            for images, labels, digits, digit_labels, stream in (
                (MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, sample.x_train, sample.y_train, 0),
                (MNIST_TEST_IMAGES, MNIST_TEST_LABELS, sample.x_test, sample.y_test, 1))]
    np.testing.assert_array_equal(standardise_only.given.x_train, made[0].images)
    expected = standardise_only(Dataset(made[0].images, made[0].labels, made[1].images, made[1].labels))
    np.testing.assert_array_equal(loaded.x_train, expected.x_train)
    np.testing.assert_array_equal(loaded.x_test, expected.x_test)
    np.testing.assert_array_equal(loaded.y_train, arrays[MNIST_TRAIN_LABELS])  # the task: clothing
    np.testing.assert_array_equal(loaded.nuisance_test, made[1].nuisance_labels)  # the nuisance: digit
    # The digit really is painted: occluded images differ from the padded originals under the strokes.
    assert (made[0].images != pad_to_cifar_shape(arrays[MNIST_TRAIN_IMAGES])).any(axis=(1, 2, 3)).all()

    # A file recorded with other occluders is refused rather than read under the wrong name.
    shutil.copy(occluded_fashion_path(folder, "train", "sample"), occluded_fashion_path(folder, "train", "mnist"))
    shutil.copy(occluded_fashion_path(folder, "test", "sample"), occluded_fashion_path(folder, "test", "mnist"))
    with pytest.raises(DataError, match="digits=sample.*digits=mnist"):
        fashion.load_occluded_fashion(folder, digits="mnist", progress=None)


def _write_tiny_occluded_fashion(folder: Path) -> None:
    """Occluded Fashion-MNIST as the library writes it, from tiny Fashion-shaped arrays and the sample digits."""
    arrays = fashion_like(n_train=120, n_test=60, seed=3)
    fashion = Dataset(arrays[MNIST_TRAIN_IMAGES], arrays[MNIST_TRAIN_LABELS].astype(np.int64),
                      arrays[MNIST_TEST_IMAGES], arrays[MNIST_TEST_LABELS].astype(np.int64))
    generate.write_occluded_fashion(folder, fashion, mnist_sample_uint8(), digits="sample", progress=None)


@pytest.mark.slow
def test_occluded_py_trains_and_probes_occluded_fashion(tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "preprocess_cifar", standardise_only)
    folder = tmp_path / "datasets"
    _write_tiny_occluded_fashion(folder)
    values = ["dataset=fashion", "digits=sample", "filter_percentage=0.1", "epochs=1", "probe_epochs=1",
              "batch_size=30", "num_train=90", "num_test=60", "verbose=0"]
    trained = run("occluded.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "Run occluded.batch_size=30.dataset=fashion.digits=sample" in trained.stdout
    assert "90 training and 60 test examples" in trained.stdout
    result = run("occluded.py", "nuisance", "with", *values, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = re.search(r"^\| 3.0 \| 0 \| (\d+\.\d+) \| (\d+\.\d+) \| (\d+\.\d+) \|$", result.stdout, re.MULTILINE)
    assert row and all(0 <= float(v) <= 100 for v in row.groups())
    names = sorted(p.name for p in (tmp_path / "models").glob("*.keras"))
    assert names and all(name.startswith("occluded.batch_size=30.dataset=fashion.digits=sample.") for name in names)
    # Occluded CIFAR's files were never asked for.
    assert not list(folder.glob("occluded-cifar*"))
