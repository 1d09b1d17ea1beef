"""A small Fashion-MNIST run does not pay for the whole preprocessed set: it whitens only the images it uses, with
the ZCA fitted on the whole training set (kept for the next run), and gets the numbers the whole set would give;
a large run builds the whole set as before. What is written, and how large, is said before it is written.

The Fashion-MNIST files are tiny stand-ins (tests/test_fashion.py's), and the ZCA fit is replaced by a cheap one
that depends on every training image as the real one does: the real fit's eigendecomposition of a 3,072 × 3,072
matrix takes tens of seconds on 2 shared cores, and has tests of its own."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.data import fashion
from infodropout.paper.data import loaders as data

from infodropout.paper.data import preprocessing
from infodropout.paper.data.checksums import MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS
from infodropout.paper.data.formats import Dataset, fashion_cifar_path, subset
from infodropout.paper.data.preprocessing import cached_whitening, pad_to_cifar_shape, preprocess_cifar
from test_fashion import _mirror, fashion_like


class Log:
    """A progress stream that notes, for every line, which of ``watched`` files existed when it was written."""

    def __init__(self, watched: list[Path]):
        self.watched, self.lines = watched, []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.lines.append((line, {path.name for path in self.watched if path.exists()}))
        return len(text)

    def flush(self) -> None:
        pass

    def said(self, pattern: str) -> tuple[re.Match, set[str]]:
        """The first line matching ``pattern`` and the watched files that existed when it was written."""
        for line, existing in self.lines:
            match = re.search(pattern, line)
            if match:
                return match, existing
        raise AssertionError(f"no line matches {pattern!r}: {[line for line, _ in self.lines]}")


@pytest.fixture
def cheap_fit(monkeypatch):
    """A dense, symmetric whitening that depends on every training image, as fit_zca's does; counts its fits."""
    fits = []

    def fit(x_flat):
        fits.append(len(x_flat))
        x = np.asarray(x_flat, dtype=np.float64)
        mean = x.mean(axis=0)
        centred = x - mean
        return mean, 0.5 * np.eye(x.shape[1]) + centred.T @ centred / (len(x) * x.shape[1])

    monkeypatch.setattr(preprocessing, "fit_zca", fit)
    return fits


def test_a_small_run_whitens_only_its_images_with_the_whole_training_sets_zca(tmp_path, cheap_fit):
    arrays = fashion_like(n_train=40, n_test=12)
    url, checksums, contents = _mirror(tmp_path, arrays)
    folder = tmp_path / "datasets"
    whole = [fashion_cifar_path(folder, split) for split in ("train", "test")]
    zca = fashion_cifar_path(folder, "zca")
    # What the whole preprocessed set holds (the medium plan's cache), with the same fit.
    expected = preprocess_cifar(Dataset(pad_to_cifar_shape(arrays[MNIST_TRAIN_IMAGES]), arrays[MNIST_TRAIN_LABELS],
                                        pad_to_cifar_shape(arrays[MNIST_TEST_IMAGES]), arrays[MNIST_TEST_LABELS]))
    cheap_fit.clear()

    log = Log([*whole, zca])
    small = fashion.load_fashion_cifar(folder, url, checksums, contents, progress=log, num_train=10, num_test=5)
    assert cheap_fit == [40]  # fitted on every training image, not on the 10 the run uses
    for got, want in zip(small, subset(expected, 10, 5)):
        np.testing.assert_array_equal(got, want)  # the same numbers, to the last bit
    assert small.x_train.dtype == np.float32 and small.y_train.dtype == np.int64
    assert not any(path.exists() for path in whole)  # the whole set is not written for 10 images
    said, existing = log.said(r"kept in .*fashion-cifar-zca\.npz \((\d+) MB\)")
    assert zca.name not in existing  # said before it was written
    assert int(said.group(1)) == round(zca.stat().st_size / 1e6)

    # The next small run reads the whitening instead of fitting it again; num_test=0 is the whole test split.
    again = fashion.load_fashion_cifar(folder, url, checksums, contents, progress=None, num_train=25)
    assert cheap_fit == [40]
    for got, want in zip(again, subset(expected, 25, 0)):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(data.DataError, match="num_test=13"):
        fashion.load_fashion_cifar(folder, url, checksums, contents, progress=None, num_train=5, num_test=13)


def test_a_large_run_builds_the_whole_set_saying_its_size_first_and_small_runs_then_read_it(tmp_path, cheap_fit,
                                                                                           monkeypatch):
    arrays = fashion_like(n_train=40, n_test=12)
    url, checksums, contents = _mirror(tmp_path, arrays)
    folder = tmp_path / "datasets"
    whole = [fashion_cifar_path(folder, split) for split in ("train", "test")]
    monkeypatch.setattr(fashion, "SMALL_FASHION_RUN", 20)
    log = Log(whole)
    large = fashion.load_fashion_cifar(folder, url, checksums, contents, progress=log, num_train=30)
    said, existing = log.said(r"preprocessing all 52 images once into fashion-cifar-train\.npz and "
                              r"fashion-cifar-test\.npz \((\d+) MB\)")
    assert existing == set()  # said before anything was written
    assert int(said.group(1)) == round(52 * 32 * 32 * 3 * 4 / 1e6)
    assert all(path.is_file() for path in whole) and len(large.x_train) == 30 and len(large.x_test) == 12
    # Built: a small run reads it, fitting nothing and writing no whitening of its own.
    fits = len(cheap_fit)
    small = fashion.load_fashion_cifar(folder, url, checksums, contents, progress=None, num_train=3, num_test=2)
    assert len(cheap_fit) == fits and not fashion_cifar_path(folder, "zca").exists()
    np.testing.assert_array_equal(small.x_train, large.x_train[:3])


def test_a_kept_whitening_of_other_images_or_damaged_is_fitted_again(tmp_path, cheap_fit):
    images = pad_to_cifar_shape(fashion_like(n_train=20)[MNIST_TRAIN_IMAGES])
    path = tmp_path / "zca.npz"
    first = cached_whitening(path, images)
    lines = []
    cached_whitening(path, images, lines.append)
    assert len(cheap_fit) == 1 and any("reading the whitening" in line for line in lines)
    other = cached_whitening(path, images[:15], lines.append)  # other training images: fitted anew
    assert cheap_fit == [20, 15] and any("fitted on other training images" in line for line in lines)
    assert not np.allclose(other[1], first[1])
    path.write_bytes(path.read_bytes()[:1000])  # cut short
    cached_whitening(path, images, lines.append)
    assert len(cheap_fit) == 3 and any("is unreadable" in line for line in lines)
