"""Tests of the Cluttered MNIST and Occluded CIFAR generators and their loaders (numpy only)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.data import generate

from infodropout.paper.data import preprocessing
from infodropout.paper.data.loaders import load_cluttered, load_occluded_cifar
from infodropout.paper.errors import DataError
from infodropout.paper.data.formats import cluttered_path, mnist_sample_uint8, read_npz, save_npz
from infodropout.paper.data.generate import bright_colours, generate_cluttered, ink_boxes, occlude


@pytest.fixture(scope="module")
def sample():
    """The embedded real MNIST digits, uint8."""
    return mnist_sample_uint8()


def write_raw_mnist(folder: Path, sample, n_train: int = 80, n_test: int = 20) -> None:
    for prefix, images, labels in (("train", sample.x_train[:n_train], sample.y_train[:n_train]),
                                   ("t10k", sample.x_test[:n_test], sample.y_test[:n_test])):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in images.shape) + images.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            (2049).to_bytes(4, "big") + len(labels).to_bytes(4, "big") + labels.astype(np.uint8).tobytes())


# --------------------------------------------------------------------------------------------------
# Cluttered MNIST generator


def test_cluttered_shapes_dtypes_and_range(sample):
    made = generate_cluttered(sample.x_train, sample.y_train, 40, seed=0)
    assert made.images.shape == (40, 96, 96) and made.images.dtype == np.uint8
    assert made.labels.shape == (40,) and made.labels.dtype == np.int64
    np.testing.assert_array_equal(made.labels, sample.y_train[made.sources])
    assert made.boxes.shape == (40, 4) and made.boxes.dtype == np.int32
    top, left, bottom, right = made.boxes.T
    assert np.all((0 <= top) & (top < bottom) & (bottom <= 96) & (0 <= left) & (left < right) & (right <= 96))
    assert made.digit_positions.min() >= 0 and made.digit_positions.max() <= 96 - 28
    assert made.distractor_positions.shape == (40, 21, 2)
    assert made.distractor_positions.min() >= 0 and made.distractor_positions.max() <= 96 - 8
    # Clutter: plenty of ink outside the digit's box in every image.
    outside = made.images.copy()
    for image, (t, l, b, r) in zip(outside, made.boxes):
        image[t:b, l:r] = 0
    assert np.all(outside.reshape(40, -1).astype(int).sum(axis=1) > 0)


def test_single_digit_without_distractors_lies_exactly_in_its_box(sample):
    digit = sample.x_train[0]
    made = generate_cluttered(digit[None], sample.y_train[:1], 5, seed=3, distractors=0)
    assert np.all(made.sources == 0) and np.all(made.labels == sample.y_train[0])
    ink_top, ink_left, ink_bottom, ink_right = ink_boxes(digit[None])[0]
    tight = digit[ink_top:ink_bottom, ink_left:ink_right]
    for image, (top, left, bottom, right), (row, col) in zip(made.images, made.boxes, made.digit_positions):
        np.testing.assert_array_equal(image[top:bottom, left:right], tight)
        assert image.astype(int).sum() == digit.astype(int).sum()  # nothing outside the box
        np.testing.assert_array_equal(image[row:row + 28, col:col + 28], digit)
        # Tight: ink on each edge of the box.
        box = image[top:bottom, left:right]
        assert box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any()
    assert len({tuple(p) for p in made.digit_positions}) > 1  # the position varies


@pytest.mark.parametrize("distractors", [0, 5, 21])
def test_distractor_count(distractors):
    """With every digit pixel 1, each canvas's total is 784 (the digit) plus 64 per distractor."""
    ones = np.ones((10, 28, 28), np.uint8)
    made = generate_cluttered(ones, np.arange(10), 30, seed=1, distractors=distractors)
    assert made.distractor_positions.shape == (30, distractors, 2)
    np.testing.assert_array_equal(made.images.reshape(30, -1).astype(int).sum(axis=1),
                                  28 * 28 + 64 * distractors)


def test_sums_are_clipped_not_wrapped():
    full = np.full((3, 28, 28), 255, np.uint8)
    made = generate_cluttered(full, np.arange(3), 20, seed=2)
    assert set(np.unique(made.images)) <= {0, 255}
    # Every distractor landed: each 8x8 patch area is fully 255.
    for image, corners in zip(made.images, made.distractor_positions):
        for row, col in corners:
            assert np.all(image[row:row + 8, col:col + 8] == 255)


def test_cluttered_is_deterministic_and_prefix_stable(sample):
    kwargs = dict(seed=7, distractors=21)
    first = generate_cluttered(sample.x_train, sample.y_train, 1200, **kwargs)
    again = generate_cluttered(sample.x_train, sample.y_train, 1200, **kwargs)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    fewer = generate_cluttered(sample.x_train, sample.y_train, 1100, **kwargs)
    np.testing.assert_array_equal(fewer.images, first.images[:1100])
    np.testing.assert_array_equal(fewer.boxes, first.boxes[:1100])
    other_seed = generate_cluttered(sample.x_train, sample.y_train, 50, seed=8)
    other_stream = generate_cluttered(sample.x_train, sample.y_train, 50, seed=7, stream=1)
    assert not np.array_equal(other_seed.images, first.images[:50])
    assert not np.array_equal(other_stream.images, first.images[:50])
    # Each pool digit once before any repeats.
    assert len(np.unique(first.sources)) == 1200


def test_ink_boxes_of_known_shapes():
    digits = np.zeros((2, 28, 28), np.uint8)
    digits[0, 3:9, 5:20] = 1
    np.testing.assert_array_equal(ink_boxes(digits), [[3, 5, 9, 20], [0, 0, 0, 0]])


# --------------------------------------------------------------------------------------------------
# Cluttered MNIST loader


def test_load_cluttered_from_sample_builds_once_then_reads(tmp_path, monkeypatch):
    dataset = load_cluttered(tmp_path, 300, 100, source="sample", progress=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluttered-sample-test.npz", "cluttered-sample-train.npz"]
    assert dataset.x_train.shape == (300, 96, 96, 1) and dataset.x_train.dtype == np.float32
    assert dataset.x_test.shape == (100, 96, 96, 1) and dataset.y_test.dtype == np.int64
    assert 0.0 <= dataset.x_train.min() and dataset.x_train.max() <= 1.0
    assert dataset.boxes_train.shape == (300, 4) and dataset.boxes_test.shape == (100, 4)
    stored = read_npz(tmp_path / "cluttered-sample-train.npz", optional=("boxes",))
    assert stored["data"].dtype == np.uint8 and stored["data"].shape == (300, 96, 96, 1)

    def no_generation(*args, **kwargs):
        raise AssertionError("regenerated although the file holds enough images")

    monkeypatch.setattr(generate, "write_cluttered", no_generation)
    fewer = load_cluttered(tmp_path, 200, 100, source="sample", progress=None)
    np.testing.assert_array_equal(fewer.x_train, dataset.x_train[:200])
    np.testing.assert_array_equal(fewer.boxes_train, dataset.boxes_train[:200])
    monkeypatch.undo()
    more = load_cluttered(tmp_path, 400, 100, source="sample", progress=None)
    assert len(more.x_train) == 400
    np.testing.assert_array_equal(more.x_train[:300], dataset.x_train)  # prefix-stable regeneration


def test_load_cluttered_reports_generation_progress(tmp_path, capsys):
    load_cluttered(tmp_path, 250, 20, source="sample")
    err = capsys.readouterr().err
    assert "generating" in err and "cluttered-sample-train.npz" in err and "100%" in err
    # The size said before generating is the file's: 250 images of 96×96 bytes, 2.3 MB.
    written = next(tmp_path.glob("cluttered-sample-train*.npz")).stat().st_size
    assert f"cluttered-sample-train.npz ({written / 1e6:.0f} MB)" in err.replace(str(tmp_path) + "/", "")


def test_disk_size_says_what_a_data_set_takes():
    from infodropout.paper.data.formats import disk_size

    assert disk_size(70_000, (32, 32, 3)) == "860 MB"  # Fashion-MNIST in CIFAR's shape, float32
    assert disk_size(60_000, (96, 96), "uint8") == "553 MB"  # Cluttered MNIST's training set
    assert disk_size(10, (8, 8)) == "under 1 MB"


def test_load_cluttered_from_full_mnist_files(tmp_path, sample):
    """source='mnist' reads MNIST from the data folder (here uncompressed IDX files placed there)."""
    write_raw_mnist(tmp_path, sample, n_train=60, n_test=20)
    dataset = load_cluttered(tmp_path, 30, 10, progress=None)
    assert (tmp_path / "cluttered-train.npz").is_file() and (tmp_path / "cluttered-test.npz").is_file()
    assert dataset.x_train.shape == (30, 96, 96, 1) and dataset.x_test.shape == (10, 96, 96, 1)
    assert set(dataset.y_train) <= set(sample.y_train[:60]) and set(dataset.y_test) <= set(sample.y_test[:20])


def test_load_cluttered_uses_the_authors_archive(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 6), ("test", 4)):
        labels = rng.integers(0, 10, n)
        save_npz(tmp_path / f"cluttered-{split}.npz", rng.random((n, 96, 96, 1)).astype(np.float32),
                 np.eye(10, dtype=np.float32)[labels])
    dataset = load_cluttered(tmp_path, progress=None)
    assert dataset.x_train.shape == (6, 96, 96, 1) and dataset.x_train.dtype == np.float32
    assert dataset.y_train.dtype == np.int64 and dataset.y_train.shape == (6,)
    assert dataset.boxes_train is None and dataset.boxes_test is None
    with pytest.raises(DataError, match=r"cluttered-train\.npz: the archive holds 6 images, fewer than the 7"):
        load_cluttered(tmp_path, 7, progress=None)


def test_sample_set_never_passes_for_the_real_one(tmp_path):
    load_cluttered(tmp_path, 20, 10, source="sample", progress=None)
    for split in ("train", "test"):
        shutil.copy(tmp_path / f"cluttered-sample-{split}.npz", tmp_path / f"cluttered-{split}.npz")
    with pytest.raises(DataError, match="source=sample"):
        load_cluttered(tmp_path, 20, 10, progress=None)


def test_cluttered_file_names_record_non_default_settings(tmp_path):
    assert cluttered_path(tmp_path, "train").name == "cluttered-train.npz"
    assert cluttered_path(tmp_path, "test", "sample", 3, 10).name == "cluttered-sample-seed3-d10-test.npz"


# --------------------------------------------------------------------------------------------------
# Occluded CIFAR


def test_bright_colours_are_the_pure_hues():
    np.testing.assert_array_equal(bright_colours(np.array([0, 1 / 6, 1 / 3, 1 / 2, 2 / 3, 5 / 6])),
                                  [[255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255],
                                   [255, 0, 255]])


def test_occlusion_follows_the_rule(sample):
    grey = np.full((30, 32, 32, 3), 100, np.uint8)
    made = occlude(grey, np.arange(30) % 10, sample.x_train[:50], sample.y_train[:50], seed=0,
                   colour=(255, 0, 0))
    assert made.images.shape == (30, 32, 32, 3) and made.images.dtype == np.uint8
    np.testing.assert_array_equal(made.labels, np.arange(30) % 10)
    np.testing.assert_array_equal(made.nuisance_labels, sample.y_train[:50][made.sources])
    assert made.positions.min() >= 0 and made.positions.max() <= 4
    for image, (row, col), source in zip(made.images, made.positions, made.sources):
        alpha = np.zeros((32, 32), np.float64)
        alpha[row:row + 28, col:col + 28] = sample.x_train[source] / 255
        expected = np.rint(100 + alpha[..., None] * (np.array([255, 0, 0]) - 100))
        np.testing.assert_array_equal(image, expected)
        assert np.all(image[alpha == 0] == 100)  # untouched outside the strokes
        assert np.all(image[alpha == 1] == [255, 0, 0])  # fully painted at the stroke's core
    assert len({tuple(p) for p in made.positions}) > 1


def test_occlusion_random_colours_determinism_and_streams(sample):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 40)
    first = occlude(images, labels, sample.x_train, sample.y_train, seed=1)
    again = occlude(images, labels, sample.x_train, sample.y_train, seed=1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(occlude(images, labels, sample.x_train, sample.y_train, seed=2).images, first.images)
    assert not np.array_equal(occlude(images, labels, sample.x_train, sample.y_train, seed=1, stream=1).images,
                              first.images)
    # Bright colours: one channel at 255 and one at 0 in each.
    assert np.all(first.colours.max(axis=1) == 255) and np.all(first.colours.min(axis=1) == 0)
    assert len({tuple(c) for c in first.colours}) > 5


def write_cifar_folder(folder: Path, per_batch: int = 12) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        batch = {b"labels": [(index + i) % 10 for i in range(per_batch)],
                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def test_load_occluded_cifar_builds_from_raw_data_then_reads(tmp_path, sample, monkeypatch):
    write_cifar_folder(tmp_path / "cifar-10-batches-py")
    write_raw_mnist(tmp_path, sample)
    fitted = []

    def identity_zca(x, epsilon=1e-5):
        """The 3072-d eigendecomposition takes 2-15 s on a busy 2-core machine; fit_zca itself is
        tested in test_data. Here: the training mean and an identity whitening, recorded."""
        fitted.append(x.shape)
        return x.mean(axis=0, dtype=np.float64), np.eye(x.shape[1])

    monkeypatch.setattr(preprocessing, "fit_zca", identity_zca)
    dataset = load_occluded_cifar(tmp_path, progress=None)
    assert fitted == [(60, 3072)]  # fitted once, on the 60 occluded training images
    monkeypatch.undo()
    assert dataset.x_train.shape == (60, 32, 32, 3) and dataset.x_test.shape == (12, 32, 32, 3)
    assert dataset.x_train.dtype == np.float32 and np.all(np.isfinite(dataset.x_train))
    np.testing.assert_allclose(dataset.x_train.mean(axis=0), 0.0, atol=1e-3)  # ZCA with train statistics
    assert list(dataset.y_train[:12]) == [i % 10 for i in range(12)]
    assert dataset.nuisance_train.dtype == np.int64 and dataset.nuisance_train.shape == (60,)
    assert set(dataset.nuisance_train) <= set(sample.y_train[:80])
    assert set(dataset.nuisance_test) <= set(sample.y_test[:20])
    stored = read_npz(tmp_path / "occluded-cifar-train.npz", optional=("nuisance_labels", "positions", "colours"))
    np.testing.assert_array_equal(stored["nuisance_labels"], dataset.nuisance_train)
    assert stored["positions"].shape == (60, 2) and stored["colours"].shape == (60, 3)

    monkeypatch.setattr(generate, "write_occluded_cifar",
                        lambda *a, **k: pytest.fail("rebuilt although the files exist"))
    again = load_occluded_cifar(tmp_path, progress=None)
    np.testing.assert_array_equal(again.x_test, dataset.x_test)
    np.testing.assert_array_equal(again.nuisance_test, dataset.nuisance_test)
    with pytest.raises(DataError, match="seed 0, not 5"):
        shutil.copy(tmp_path / "occluded-cifar-train.npz", tmp_path / "occluded-cifar-seed5-train.npz")
        shutil.copy(tmp_path / "occluded-cifar-test.npz", tmp_path / "occluded-cifar-seed5-test.npz")
        load_occluded_cifar(tmp_path, seed=5, progress=None)
