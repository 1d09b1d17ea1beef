"""Tests of infodropout.data and process_cifar.py (numpy only, no TensorFlow)."""

from __future__ import annotations

import gzip
import os
import pickle
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.data import loaders as data
from infodropout.paper.data.loaders import load_cifar10
from infodropout.paper.errors import DataError
from infodropout.paper.data.formats import ClutteredDataset, Dataset, OccludedDataset, load_mnist_sample, load_npz, save_npz, subset
from infodropout.paper.data.original_formats import (
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_cifar_batch, read_cifar_folder, read_idx, read_mnist_idx,
)
from infodropout.paper.data.preprocessing import apply_zca, fit_zca, mnist_as_cifar_shape, per_image_standardize

REPO = Path(__file__).resolve().parent.parent

# A pixel with three distinct channel values at a position with distinct row and column, so that a
# swapped channel order or a transposed image both fail the check.
PIXEL_ROW, PIXEL_COL, PIXEL_RGB = 3, 5, (200, 50, 10)


# --------------------------------------------------------------------------------------------------
# Embedded MNIST sample


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load_mnist_sample()


def test_mnist_sample_shapes_dtypes_and_range(mnist):
    assert mnist.x_train.shape == (8000, 28, 28, 1) and mnist.x_test.shape == (2000, 28, 28, 1)
    assert mnist.x_train.dtype == np.float32 and mnist.x_test.dtype == np.float32
    assert mnist.y_train.shape == (8000,) and mnist.y_test.shape == (2000,)
    assert mnist.y_train.dtype == np.int64 and mnist.y_test.dtype == np.int64
    for x in (mnist.x_train, mnist.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
    # Real digits: mostly background, with some ink in every image.
    assert 0.05 < mnist.x_train.mean() < 0.25
    assert np.all(mnist.x_train.reshape(8000, -1).max(axis=1) > 0.5)


def test_mnist_sample_has_every_class_in_both_splits(mnist):
    assert set(np.unique(mnist.y_train)) == set(range(10))
    assert set(np.unique(mnist.y_test)) == set(range(10))
    # Shuffled once at creation: each class is 8-12 % of the 2000 test digits.
    counts = np.bincount(mnist.y_test, minlength=10)
    assert counts.min() > 150 and counts.max() < 250


def test_mnist_sample_split_is_last_examples(mnist):
    other = load_mnist_sample(num_test=500)
    assert len(other.x_train) == 9500 and len(other.x_test) == 500
    assert set(np.unique(other.y_test)) == set(range(10))
    # Same file order, the test split being the tail: the last 500 are the tail of the 2000.
    np.testing.assert_array_equal(other.x_test, mnist.x_test[-500:])
    np.testing.assert_array_equal(other.y_train[:8000], mnist.y_train)


def test_mnist_as_cifar_shape_pads_copies_channels_and_centres(mnist):
    small = Dataset(mnist.x_train[:100], mnist.y_train[:100], mnist.x_test[:50], mnist.y_test[:50])
    shaped = mnist_as_cifar_shape(small)
    assert shaped.x_train.shape == (100, 32, 32, 3) and shaped.x_test.shape == (50, 32, 32, 3)
    assert shaped.x_train.dtype == np.float32
    assert abs(float(shaped.x_train.mean())) < 1e-5  # centred on the training mean
    shift = float(shaped.x_train[0, 0, 0, 0])  # a border pixel: 0 minus the mean
    assert shift < 0
    np.testing.assert_allclose(shaped.x_train[:, 2:30, 2:30, 1] - shift, small.x_train[..., 0], atol=1e-6)
    np.testing.assert_array_equal(shaped.x_test[..., 0], shaped.x_test[..., 2])
    np.testing.assert_allclose(shaped.x_test[:, 2:30, 2:30, 0] - shift, small.x_test[..., 0], atol=1e-6)
    np.testing.assert_array_equal(shaped.y_test, small.y_test)


@pytest.mark.parametrize("num_test", [0, -1, 10000, 2.5, True, "10"])
def test_mnist_sample_rejects_invalid_num_test(num_test):
    with pytest.raises(ValueError, match="num_test"):
        load_mnist_sample(num_test=num_test)


# --------------------------------------------------------------------------------------------------
# Pre-processed archives


def test_load_npz_converts_one_hot_labels(tmp_path):
    labels = np.array([3, 0, 9, 3])
    path = tmp_path / "one-hot.npz"
    np.savez(path, data=np.zeros((4, 2, 2, 1), np.float32), labels=np.eye(10, dtype=np.float32)[labels])
    x, y = load_npz(path)
    assert x.shape == (4, 2, 2, 1)
    assert y.dtype == np.int64 and y.shape == (4,)
    np.testing.assert_array_equal(y, labels)


def test_load_npz_missing_file_names_file_and_fix(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(DataError, match="absent.npz") as error:
        load_npz(path, hint="run ./make_it.py")
    assert "run ./make_it.py" in str(error.value)


def test_load_npz_missing_key(tmp_path):
    path = tmp_path / "no-labels.npz"
    np.savez(path, data=np.zeros((2, 3)))
    with pytest.raises(DataError, match=r"no-labels\.npz.*'labels'"):
        load_npz(path)


def test_load_npz_length_mismatch(tmp_path):
    path = tmp_path / "mismatch.npz"
    np.savez(path, data=np.zeros((3, 2)), labels=np.zeros(2, np.int64))
    with pytest.raises(DataError, match=r"mismatch\.npz.*3 examples.*2"):
        load_npz(path)


def test_load_npz_truncated_file(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, data=np.random.default_rng(0).random((50, 8)), labels=np.arange(50))
    content = good.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(content[: len(content) // 2])
    with pytest.raises(DataError, match=r"truncated\.npz"):
        load_npz(bad)


def test_load_cifar10_missing_files_are_built_and_offline_says_how_to_get_them(tmp_path):
    # Nothing listens on port 1 of the loopback: the download fails as it would offline.
    with pytest.raises(DataError, match="offline") as error:
        load_cifar10(str(tmp_path), base_url="http://127.0.0.1:1/")
    assert "cifar-10-python.tar.gz" in str(error.value) and "place it at" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_load_cifar10_with_one_file_missing_says_how_to_make_it(tmp_path):
    save_npz(tmp_path / "cifar10-train.npz", np.zeros((2, 32, 32, 3), np.float32), np.zeros(2, np.int64))
    with pytest.raises(DataError, match="process_cifar.py") as error:
        load_cifar10(str(tmp_path))
    assert "cifar10-test.npz" in str(error.value)


def test_load_cifar10_checks_nhwc_shape(tmp_path):
    for split in ("train", "test"):
        nchw = np.zeros((2, 3, 32, 32), np.float32)
        save_npz(tmp_path / f"cifar10-{split}.npz", nchw, np.zeros(2, np.int64))
    with pytest.raises(DataError, match=r"cifar10-train\.npz.*NHWC"):
        load_cifar10(str(tmp_path))


def test_load_cifar10_reads_archives(tmp_path):
    rng = np.random.default_rng(1)
    for split, n in (("train", 6), ("test", 4)):
        images = rng.random((n, 32, 32, 3)).astype(np.float32)
        save_npz(tmp_path / f"cifar10-{split}.npz", images, np.arange(n))
    loaded = load_cifar10(str(tmp_path))
    assert loaded.x_train.shape == (6, 32, 32, 3) and loaded.x_test.shape == (4, 32, 32, 3)
    assert loaded.x_train.dtype == np.float32 and loaded.y_test.dtype == np.int64


def test_save_npz_is_atomic_and_round_trips(tmp_path):
    folder = tmp_path / "new" / "folder"
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    save_npz(folder / "out.npz", x, np.array([1, 2]))
    assert sorted(p.name for p in folder.iterdir()) == ["out.npz"]
    loaded_x, loaded_y = load_npz(folder / "out.npz")
    np.testing.assert_array_equal(loaded_x, x)
    np.testing.assert_array_equal(loaded_y, [1, 2])


def test_save_npz_failure_leaves_no_file(tmp_path, monkeypatch):
    def failing_savez(handle, **arrays):
        handle.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        save_npz(tmp_path / "out.npz", np.zeros(2), np.zeros(2))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# Official CIFAR-10 python version


def write_cifar_batch(path: Path, raw: np.ndarray, labels: list[int]) -> None:
    """A batch in the official format: a pickled dict of bytes keys, protocol 2."""
    batch = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": labels,
        b"data": raw,
        b"filenames": [f"image_{i}.png".encode() for i in range(len(labels))],
    }
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=2)


def raw_cifar_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random uint8 rows; the first image has PIXEL_RGB at (PIXEL_ROW, PIXEL_COL), channel-major."""
    raw = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    for channel, value in enumerate(PIXEL_RGB):
        raw[0, channel * 1024 + PIXEL_ROW * 32 + PIXEL_COL] = value
    return raw


@pytest.fixture
def cifar_folder(tmp_path) -> Path:
    """A miniature cifar-10-batches-py: 5 training batches and a test batch of 12 images each."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        write_cifar_batch(folder / name, raw_cifar_images(rng, 12), [(index + i) % 10 for i in range(12)])
    return folder


def test_read_cifar_batch_converts_channel_major_rows_to_nhwc(tmp_path):
    raw = raw_cifar_images(np.random.default_rng(3), 4)
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, raw, [7, 1, 2, 3])
    images, labels = read_cifar_batch(path)
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [7, 1, 2, 3])
    assert tuple(images[0, PIXEL_ROW, PIXEL_COL]) == PIXEL_RGB
    expected = raw.reshape(4, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(images, expected)


def test_read_cifar_batch_accepts_legacy_numpy_module_name(tmp_path):
    """The official files (pickled by numpy 1) name numpy.core.multiarray, not numpy._core."""
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, raw_cifar_images(np.random.default_rng(4), 2), [0, 1])
    content = path.read_bytes().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct" in content
    path.write_bytes(content)
    images, _ = read_cifar_batch(path)
    assert tuple(images[0, PIXEL_ROW, PIXEL_COL]) == PIXEL_RGB


class _RunsCommand:
    """Unpickling this calls os.system(command): what a tampered data file could do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_safe_unpickler_refuses_code_and_never_runs_it(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as handle:
        evil = _RunsCommand(f"touch {shlex.quote(str(marker))}")
        pickle.dump({b"data": evil, b"labels": [0]}, handle, protocol=2)
    with pytest.raises(DataError, match="system"):
        read_cifar_batch(path)
    assert not marker.exists()


def test_read_cifar_batch_truncated_file(tmp_path):
    path = tmp_path / "data_batch_1"
    write_cifar_batch(path, raw_cifar_images(np.random.default_rng(5), 3), [0, 1, 2])
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="data_batch_1"):
        read_cifar_batch(path)


def test_read_cifar_folder_concatenates_training_batches(cifar_folder):
    dataset = read_cifar_folder(cifar_folder)
    assert dataset.x_train.shape == (60, 32, 32, 3) and dataset.x_test.shape == (12, 32, 32, 3)
    assert len(dataset.y_train) == 60 and len(dataset.y_test) == 12


def test_read_cifar_folder_missing_batch(cifar_folder):
    (cifar_folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3"):
        read_cifar_folder(cifar_folder)


# --------------------------------------------------------------------------------------------------
# Preprocessing


def test_per_image_standardize_gives_zero_mean_unit_std():
    x = np.random.default_rng(0).integers(0, 256, size=(7, 8, 8, 3)).astype(np.uint8)
    x[2] = x[2] // 8  # a low-contrast image
    out = per_image_standardize(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    flat = out.reshape(7, -1).astype(np.float64)
    np.testing.assert_allclose(flat.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat.std(axis=1, ddof=1), 1.0, atol=1e-5)


def test_zca_whitens_correlated_gaussian_to_identity_covariance():
    """The whitened training covariance must be the identity within 0.05.

    Fitted and evaluated on the same sample, W C W = U diag(λ / (√λ + 1e-5)²) U^T, so the only departures
    from the identity are the epsilon shrinkage (< 1e-3 here, the smallest variance being >> 1e-2), the
    N - 1 of the fit against the N of this check (2e-4) and float32 rounding; 0.05 leaves a wide margin while still failing for a missing square root, a
    transposed W or a forgotten mean. 5000 rows also exercise the chunking (CHUNK_ROWS = 4096).
    """
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(20, 20)) + 2 * np.eye(20)
    x = (rng.normal(size=(5000, 20)) @ mixing + rng.normal(size=20) * 10).astype(np.float32)
    assert np.abs(np.corrcoef(x, rowvar=False) - np.eye(20)).max() > 0.3  # really correlated
    mean, whitening = fit_zca(x)
    np.testing.assert_allclose(whitening, whitening.T, atol=1e-8)
    white = apply_zca(x, mean, whitening)
    assert white.dtype == np.float32 and white.shape == x.shape
    np.testing.assert_allclose(white.mean(axis=0), 0.0, atol=1e-3)
    covariance = np.cov(white.astype(np.float64), rowvar=False, ddof=0)
    assert np.abs(covariance - np.eye(20)).max() < 0.05


def test_per_image_standardize_leaves_a_std_below_1e8_at_one():
    """The authors' threshold: an image whose std is below 1e-8 is only centred, not divided by its std."""
    x = np.full((2, 4, 4, 1), 5.0)
    x[0, 0, 0, 0] += 1e-9  # std ~ 2.5e-10: dividing by it would give values of order 1
    x[1] = np.arange(16.0).reshape(4, 4, 1)
    out = per_image_standardize(x).astype(np.float64)
    np.testing.assert_allclose(out[0], x[0] - x[0].mean(), atol=1e-12)
    np.testing.assert_allclose(out[1].std(ddof=1), 1.0, atol=1e-6)


def test_fit_zca_matches_a_hand_computation():
    """Six centred rows ±(1, 1), ±(1, -1), ±(2, 2) around the mean (3, -1): XᵀX = [[12, 8], [8, 12]], so with
    N - 1 = 5, C = [[2.4, 1.6], [1.6, 2.4]], eigenvalues 4 along (1, 1)/√2 and 0.8 along (1, -1)/√2, and
    W = ½ [[a + b, a - b], [a - b, a + b]] with a = 1/(√4 + ε), b = 1/(√0.8 + ε). A large ε = 0.5 makes the
    regulariser's place visible: 1/√(λ + ε) would give a = 0.471 instead of 0.4; N instead of N - 1 changes
    both by 10 %."""
    centred = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1], [2, 2], [-2, -2]], dtype=np.float64)
    mean, whitening = fit_zca(centred + np.array([3.0, -1.0]), epsilon=0.5)
    np.testing.assert_allclose(mean, [3.0, -1.0], atol=1e-12)
    a, b = 1 / (2.0 + 0.5), 1 / (np.sqrt(0.8) + 0.5)
    np.testing.assert_allclose(whitening, 0.5 * np.array([[a + b, a - b], [a - b, a + b]]), atol=1e-12)
    _, default = fit_zca(centred)  # the default ε = 1e-5, on the singular value
    a, b = 1 / (2.0 + 1e-5), 1 / (np.sqrt(0.8) + 1e-5)
    np.testing.assert_allclose(default, 0.5 * np.array([[a + b, a - b], [a - b, a + b]]), atol=1e-12)


def test_zca_is_closest_whitening_to_the_input():
    """ZCA (unlike PCA whitening) keeps the whitened data aligned with the input: W is positive definite."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 5)) @ np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    _, whitening = fit_zca(x)
    np.testing.assert_allclose(whitening, np.diag(1 / np.array([1.0, 2.0, 3.0, 4.0, 5.0])), atol=0.05)


def test_process_cifar_end_to_end(cifar_folder, tmp_path):
    out = tmp_path / "datasets"
    # Run from another folder: the script must find the package next to itself.
    command = [sys.executable, str(REPO / "process_cifar.py"), str(cifar_folder), "--out", str(out)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for step in ("reading", "standardising", "fitting ZCA", "whitening", "writing"):
        assert step in result.stdout
    # The size is said before anything is written: 72 images of 32×32×3 float32 take 0.9 MB.
    assert result.stdout.index("preprocessing all 72 images once") < result.stdout.index("writing")
    assert "(under 1 MB), which every later run reads" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["cifar10-test.npz", "cifar10-train.npz"]
    dataset = load_cifar10(str(out))
    assert dataset.x_train.shape == (60, 32, 32, 3) and dataset.x_test.shape == (12, 32, 32, 3)
    assert dataset.x_train.dtype == np.float32 and dataset.y_train.dtype == np.int64
    assert np.all(np.isfinite(dataset.x_train)) and np.all(np.isfinite(dataset.x_test))
    raw = read_cifar_folder(cifar_folder)
    np.testing.assert_array_equal(dataset.y_train, raw.y_train)
    np.testing.assert_array_equal(dataset.y_test, raw.y_test)
    with np.load(out / "cifar10-train.npz", allow_pickle=False) as archive:
        assert archive["labels"].dtype == np.int64 and archive["data"].dtype == np.float32
    # Whitened with the training statistics: the training pixels are centred.
    np.testing.assert_allclose(dataset.x_train.mean(axis=0), 0.0, atol=1e-3)


def test_process_cifar_from_python_with_a_config_object(cifar_folder, tmp_path, capsys):
    # The command as a plain function of its typed config, as a notebook calls it: the same archives as the script's.
    from infodropout.paper.experiments.process_cifar import Config, process

    out = tmp_path / "datasets"
    config = Config(folder=str(cifar_folder), datasets_dir=str(out))
    assert process(config) == [out / "cifar10-train.npz", out / "cifar10-test.npz"]
    assert "fitting ZCA" in capsys.readouterr().out
    dataset = load_cifar10(str(out))
    assert dataset.x_train.shape == (60, 32, 32, 3) and dataset.x_test.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(dataset.y_train, read_cifar_folder(cifar_folder).y_train)
    with pytest.raises(ValueError, match="datasets_dir"):
        Config(datasets_dir="")  # checked when made, as every experiment's config
    with pytest.raises(DataError, match="nowhere"):
        process(config.replace(folder=str(tmp_path / "nowhere")))


def test_process_cifar_bad_folder_is_one_line_error(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "process_cifar.py"), str(tmp_path / "nowhere")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "nowhere" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_module_does_not_import_tensorflow():
    assert "tensorflow" not in data.__dict__
    code = ("import sys, infodropout.paper.data.loaders; "
            "print('tensorflow' in sys.modules or 'keras' in sys.modules or 'sacred' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --------------------------------------------------------------------------------------------------
# IDX files (the full MNIST's format)


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file: big-endian magic, one big-endian uint32 per dimension, then the uint8 values."""
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


@pytest.fixture
def idx_split(tmp_path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A 7-image split as gzipped IDX files, the images non-square-symmetric to catch transposes."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.array([5, 0, 4, 1, 9, 2, 1], dtype=np.uint8)
    images_path, labels_path = tmp_path / "images-idx3-ubyte.gz", tmp_path / "labels-idx1-ubyte.gz"
    images_path.write_bytes(gzip.compress(idx_bytes(images, 2051)))
    labels_path.write_bytes(gzip.compress(idx_bytes(labels, 2049)))
    return images_path, labels_path, images, labels


def test_idx_magic_numbers_are_the_published_ones():
    assert IDX_IMAGES_MAGIC == 2051 and IDX_LABELS_MAGIC == 2049


def test_read_idx_gzipped_and_raw(idx_split, tmp_path):
    images_path, labels_path, images, labels = idx_split
    read_images, read_labels = read_mnist_idx(images_path, labels_path)
    np.testing.assert_array_equal(read_images, images)
    assert read_images.flags.writeable and read_labels.dtype == np.int64
    np.testing.assert_array_equal(read_labels, labels)
    raw = tmp_path / "raw-idx3-ubyte"
    raw.write_bytes(idx_bytes(images, 2051))
    np.testing.assert_array_equal(read_idx(raw, 2051), images)


def test_read_idx_wrong_magic_names_the_file(idx_split):
    images_path, labels_path, _, _ = idx_split
    with pytest.raises(DataError, match=r"labels-idx1-ubyte\.gz: IDX magic number 2049, expected 2051"):
        read_mnist_idx(labels_path, labels_path)
    with pytest.raises(DataError, match=r"magic number 2051, expected 2049 \(MNIST labels\)"):
        read_mnist_idx(images_path, images_path)


@pytest.mark.parametrize("cut", [3, 10, 16 + 28 * 28 * 7 - 1])
def test_read_idx_truncated_payload_or_header(tmp_path, cut):
    images = np.zeros((7, 28, 28), np.uint8)
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(idx_bytes(images, 2051)[:cut])
    with pytest.raises(DataError, match=r"cut-idx3-ubyte: .*(short|truncated)"):
        read_idx(path, 2051)


def test_read_idx_extra_bytes(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(5, dtype=np.uint8), 2049) + b"\0")
    with pytest.raises(DataError, match="too long"):
        read_idx(path, 2049)


def test_read_idx_truncated_gzip(idx_split):
    images_path = idx_split[0]
    images_path.write_bytes(images_path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"images-idx3-ubyte\.gz: truncated or corrupt gzip"):
        read_idx(images_path, 2051)


def test_read_mnist_idx_checks_the_split(idx_split, tmp_path):
    images_path, _, _, _ = idx_split
    fewer = tmp_path / "fewer-idx1-ubyte"
    fewer.write_bytes(idx_bytes(np.zeros(6, np.uint8), 2049))
    with pytest.raises(DataError, match="7 images but .* 6 labels"):
        read_mnist_idx(images_path, fewer)
    bad = tmp_path / "bad-idx1-ubyte"
    bad.write_bytes(idx_bytes(np.full(7, 10, np.uint8), 2049))
    with pytest.raises(DataError, match="label 10 outside 0..9"):
        read_mnist_idx(images_path, bad)
    small = tmp_path / "small-idx3-ubyte"
    small.write_bytes(idx_bytes(np.zeros((7, 14, 14), np.uint8), 2051))
    with pytest.raises(DataError, match="14x14"):
        read_mnist_idx(small, fewer)


# --------------------------------------------------------------------------------------------------
# subset on the extended data sets


def test_subset_keeps_boxes_and_nuisance_labels_aligned():
    cluttered = ClutteredDataset(np.arange(5), np.arange(5) + 10, np.arange(3), np.arange(3) + 20,
                                 np.arange(20).reshape(5, 4), None)
    small = subset(cluttered, 2, 1)
    assert isinstance(small, ClutteredDataset)
    np.testing.assert_array_equal(small.boxes_train, [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert small.boxes_test is None and list(small.y_test) == [20]
    assert isinstance(small.as_dataset(), Dataset)
    occluded = OccludedDataset(np.arange(5), np.arange(5), np.arange(3), np.arange(3), np.arange(5) + 1,
                               np.arange(3) + 7)
    small = subset(occluded, 0, 2)
    assert list(small.nuisance_train) == [1, 2, 3, 4, 5] and list(small.nuisance_test) == [7, 8]
    with pytest.raises(DataError, match="num_test=4"):
        subset(occluded, 0, 4)
