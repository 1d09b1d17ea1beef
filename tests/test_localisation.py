"""The localisation score of figure 2 beside its ink baseline, without the padded border."""

import keras
import numpy as np
import pytest

from infodropout.localisation import (
    field_ink_maps, ink_maps, kl_heatmaps, localisation_score, localisation_with_baseline, padded_border,
)
from infodropout.models import all_cnn_96


def canvas_with_ink(inside_only: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four 96×96 canvases, each with a 28×28 box at a random place (clear of the edges) holding a
    stroke, and with ``inside_only=False`` also three bright 8×8 distractors elsewhere."""
    rng = np.random.default_rng(seed)
    images = np.zeros((4, 96, 96, 1), dtype="float32")
    boxes = []
    for image in images:
        top, left = rng.integers(16, 96 - 28 - 16, size=2)
        image[top + 4:top + 24, left + 12:left + 16] = 1.0  # a "1" inside the box
        boxes.append((top, left, top + 28, left + 28))
        if not inside_only:
            for _ in range(3):
                while True:
                    row, col = rng.integers(16, 96 - 8 - 16, size=2)
                    if row + 8 <= top or row >= top + 28 or col + 8 <= left or col >= left + 28:
                        break
                image[row:row + 8, col:col + 8] = 0.8
    return images, np.array(boxes)


def test_ink_only_in_the_box_is_a_baseline_of_one_at_every_resolution():
    images, boxes = canvas_with_ink(inside_only=True)
    for size in (48, 24, 12):
        # The box's edges need not fall on cell boundaries: a cell counts as inside if its centre is in
        # the box, so the ink must lie well inside (the stroke is 4 pixels from the box's edges or more).
        scores = localisation_with_baseline(np.ones((4, size, size)), images, boxes)
        assert scores["mass_inside_ink"] == 1.0 and scores["max_inside_ink"] == 1.0


def test_a_map_equal_to_the_ink_scores_the_baseline_exactly():
    images, boxes = canvas_with_ink(inside_only=False)
    for size in (48, 24, 12):
        ink = ink_maps(images, (size, size))
        scores = localisation_with_baseline(ink, images, boxes)
        assert scores["mass_inside"] == scores["mass_inside_ink"]
        assert scores["max_inside"] == scores["max_inside_ink"]
        # The distractors hold most of the ink (3·64·0.8 against 80 pixels of stroke) and are brighter per
        # cell at the coarse maps: neither score is 1, so the equality above is not the trivial one.
        assert scores["mass_inside_ink"] < 0.5


def test_ink_maps_are_block_means_of_the_input():
    images = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)
    pooled = ink_maps(images, (2, 2))
    assert pooled.shape == (2, 2, 2)
    assert pooled[0, 0, 0] == np.mean([0, 1, 4, 5]) and pooled[1, 1, 1] == np.mean([26, 27, 30, 31])
    with pytest.raises(ValueError, match="does not pool evenly"):
        ink_maps(images, (3, 3))


def test_a_hot_border_scores_as_without_it_once_excluded():
    rng = np.random.default_rng(1)
    maps = rng.random((5, 12, 12))
    boxes = np.array([[24, 24, 56, 56]] * 5)
    border = np.zeros((12, 12), dtype=bool)
    border[:2], border[-3:], border[:, :2], border[:, -3:] = True, True, True, True
    hot = maps.copy()
    hot[:, border] = 100.0  # far above anything inside: without the exclusion every peak is on the border
    assert localisation_score(hot, boxes, (96, 96))["max_inside"] == 0.0
    assert localisation_score(hot, boxes, (96, 96), border) == localisation_score(maps, boxes, (96, 96), border)


def test_ties_share_the_peak_and_a_blank_map_scores_the_box_share():
    boxes = np.array([[0, 0, 48, 96]])  # the top half
    tie = np.zeros((1, 12, 12))
    tie[0, 2, 2] = tie[0, 9, 9] = 1.0  # one peak inside the box, one outside
    assert localisation_score(tie, boxes, (96, 96))["max_inside"] == 0.5
    blank = localisation_score(np.zeros((1, 12, 12)), boxes, (96, 96))
    assert blank["max_inside"] == 0.5 and np.isnan(blank["mass_inside"])


def test_an_exclusion_mask_of_the_wrong_shape_or_covering_everything_is_refused():
    maps, boxes = np.ones((1, 12, 12)), np.array([[0, 0, 48, 48]])
    with pytest.raises(ValueError, match="excluded mask is"):
        localisation_score(maps, boxes, (96, 96), np.zeros((6, 6), dtype=bool))
    with pytest.raises(ValueError, match="leaves no cell"):
        localisation_score(maps, boxes, (96, 96), np.ones((12, 12), dtype=bool))


@pytest.fixture(scope="module")
def network():
    keras.utils.set_random_seed(0)
    return all_cnn_96(0.125, dropout="information", max_alpha=1.0)


def test_padded_border_of_all_cnn_96_follows_its_convolutions(network):
    # Each block is two 3×3 convolutions (padding one cell on each side) and a 3×3 stride-2 one (on an
    # even side TensorFlow's SAME pads one cell after, none before). Layer 1's cell j sees input rows
    # 2j − 2 … 2j + 4: the first row and the last two reach the padding; deeper, two and three.
    masks = padded_border(network)
    assert [m.shape for m in masks] == [(48, 48), (24, 24), (12, 12), (6, 6)]
    for mask, (before, after) in zip(masks, [(1, 2), (2, 3), (2, 3), (2, 3)]):
        size = len(mask)
        inner = np.zeros_like(mask)
        inner[before:size - after, before:size - after] = True
        assert np.array_equal(mask, ~inner)


def test_outside_the_padded_border_a_constant_canvas_gives_a_constant_map(network):
    # Translation invariance: away from the padding every cell of a layer sees the same constant input.
    maps = kl_heatmaps(network, np.full((1, 96, 96, 1), 0.5, dtype="float32"))
    for heatmap, border in zip(maps, padded_border(network)):
        interior = heatmap[0][~border]
        assert np.ptp(interior) <= 1e-5 * max(np.abs(heatmap).max(), 1e-6)
    # ... and the padding does show on the border (layer 2's map differs from its interior there).
    border = padded_border(network)[1]
    assert np.abs(maps[1][0][border] - maps[1][0][~border][0]).max() > 1e-3


def test_field_ink_sums_the_ink_over_each_cells_receptive_field(network):
    images = np.random.default_rng(2).random((2, 96, 96, 1))
    maps = field_ink_maps(images, network)
    assert [m.shape for m in maps] == [(2, 48, 48), (2, 24, 24), (2, 12, 12), (2, 6, 6)]
    # Layer 1's cell j sees input rows and columns 2j − 2 … 2j + 4, clipped to the canvas at its edges.
    assert maps[0][1, 5, 7] == pytest.approx(images[1, 8:15, 12:19].sum())
    assert maps[0][0, 0, 0] == pytest.approx(images[0, 0:5, 0:5].sum())
    assert maps[0][0, 47, 47] == pytest.approx(images[0, 92:96, 92:96].sum())
    # Its score sits beside the others when given.
    boxes = np.array([[30, 30, 58, 58]] * 2)
    scores = localisation_with_baseline(maps[1], images, boxes, padded_border(network)[1], maps[1])
    assert scores["max_inside_field_ink"] == scores["max_inside"]
    assert scores["mass_inside_field_ink"] == scores["mass_inside"]
