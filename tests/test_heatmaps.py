"""KL heatmaps follow the input, the localisation score has exact values, the figures are written."""

import keras
import numpy as np
import pytest

from infodropout.analysis import box_mask, kl_heatmaps, localisation_score, log_activation_summary
from infodropout.models import all_cnn_96
from infodropout.paper.plots import heatmap_scales, plot_kl_heatmaps


@pytest.fixture(scope="module")
def square_maps():
    # A bright 16×16 square on a black 96×96 canvas, at a different place in each image. On black,
    # every layer sees a constant input, so its KL is constant there: the map can only differ from
    # that background level where the receptive fields reach the square.
    images = np.zeros((2, 96, 96, 1), dtype="float32")
    images[0, 8:24, 8:24] = 1.0
    images[1, 64:80, 56:72] = 1.0
    boxes = np.array([[8, 8, 24, 24], [64, 56, 80, 72]])
    keras.utils.set_random_seed(0)
    model = all_cnn_96(0.25, dropout="information", max_alpha=1.0)
    return images, boxes, kl_heatmaps(model, images)


def test_each_layer_map_has_its_resolution_and_its_mass_where_the_square_is(square_maps):
    images, boxes, maps = square_maps
    assert [m.shape for m in maps] == [(2, 48, 48), (2, 24, 24), (2, 12, 12), (2, 6, 6)]
    for layer_maps in maps[:3]:
        assert np.all(layer_maps >= 0) and np.all(layer_maps.min(axis=(1, 2)) == 0)
        for heatmap, (top, left, bottom, right) in zip(layer_maps, boxes):
            heatmap = np.abs(heatmap - np.median(heatmap))  # the departure from the background
            scale = 96 / heatmap.shape[0]
            # The box dilated by 3 cells of this layer (the receptive fields' spill-over; 2 seen).
            margin = 3
            near = box_mask((top - margin * scale, left - margin * scale, bottom + margin * scale,
                             right + margin * scale), heatmap.shape, (96, 96))
            assert heatmap[near].sum() / heatmap.sum() > 0.99
            assert near.mean() < 0.5  # and "near" is not most of the map
    departures = np.abs(maps[0] - np.median(maps[0], axis=(1, 2), keepdims=True))
    # The box is 2.8 % of the canvas; at initialisation about 30 % of the first map's departure lies in it
    # (the rest on its rim, within the receptive fields).
    assert localisation_score(departures, boxes, (96, 96))["mass_inside"] > 0.2


def test_localisation_score_exact_values():
    boxes = np.array([[0, 0, 48, 96]])  # the top half of a 96×96 input
    top = np.zeros((1, 12, 12))
    top[0, :6] = 1.0
    assert localisation_score(top, boxes, (96, 96)) == {"mass_inside": 1.0, "max_inside": 1.0}
    bottom = np.zeros((1, 12, 12))
    bottom[0, 6:] = 1.0
    assert localisation_score(bottom, boxes, (96, 96)) == {"mass_inside": 0.0, "max_inside": 0.0}
    even = np.ones((1, 12, 12))
    assert localisation_score(even, boxes, (96, 96))["mass_inside"] == pytest.approx(0.5)
    both = np.concatenate([top, bottom])
    assert localisation_score(both, np.repeat(boxes, 2, axis=0), (96, 96)) == {"mass_inside": 0.5, "max_inside": 0.5}


def test_box_mask_scales_to_the_map_resolution():
    mask = box_mask((8, 16, 24, 40), (12, 12), (96, 96))  # 8 input pixels per cell
    assert mask.sum() == 2 * 3 and mask[1:3, 2:5].all()


def test_heatmap_scales_cover_every_set_per_layer():
    a = [np.array([[[0.0, 2.0]]]), np.array([[[1.0, 5.0]]])]
    b = [np.array([[[-1.0, 1.0]]]), np.array([[[0.0, 9.0]]])]
    assert heatmap_scales(a, b) == [(-1.0, 2.0), (0.0, 9.0)]


def test_heatmap_figures_are_written(square_maps, tmp_path):
    images, boxes, maps = square_maps
    blank = [m[:1] * 0 for m in maps]
    files = plot_kl_heatmaps(images, maps, ["layer1", "layer2", "layer3", "layer4"], tmp_path, title="test",
                             boxes=boxes, scales=heatmap_scales(maps, blank), blank_maps=blank, caption="a caption")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 * (1 + 4) + 2 and "heatmaps.png" in names and "heatmaps.pdf" in names
    assert all(p.exists() and p.stat().st_size > 0 for p in files)


def test_log_activation_summary_of_known_values():
    log_z = np.array([[-np.inf, -np.inf], [1.0, 3.0]])  # two units off (log 0), two at log z = 1 and 3
    summary = log_activation_summary(log_z)
    assert summary == pytest.approx({"log_z_mean": 2.0, "log_z_std": 1.0, "zero_fraction": 0.5})
    with pytest.raises(ValueError, match="every activation is 0"):
        log_activation_summary(np.full(3, -np.inf))
