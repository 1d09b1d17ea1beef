"""KL heatmaps follow the input, the localisation score has exact values, the figures are written."""

import keras
import numpy as np
import pytest

from infodropout.localisation import box_mask, kl_heatmaps, localisation_score
from infodropout.log_activations import log_activation_summary
from infodropout.models import all_cnn_96
from infodropout.paper.figures.plots import heatmap_scales, plot_kl_heatmaps


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


def test_heatmap_scales_are_percentiles_of_every_set_per_layer():
    a = [np.arange(0.0, 50.0).reshape(1, 5, 10), np.full((1, 2, 2), 3.0)]
    b = [np.arange(50.0, 101.0).reshape(1, 3, 17), np.full((1, 2, 2), 3.0)]
    # 0, 1, ..., 100 over both sets: the 1st and 99th percentiles are 1 and 99; a constant layer
    # gets a range of width 1 around its value.
    assert heatmap_scales(a, b) == [pytest.approx((1.0, 99.0)), (2.5, 3.5)]
    assert heatmap_scales(a, b, percentiles=(0, 100)) == [pytest.approx((0.0, 100.0)), (2.5, 3.5)]


def test_heatmap_figures_are_written(square_maps, tmp_path):
    images, boxes, maps = square_maps
    blank = [m[:1] * 0 for m in maps]
    files = plot_kl_heatmaps(images, maps, ["layer1", "layer2", "layer3", "layer4"], tmp_path, title="test",
                             boxes=boxes, blank_maps=blank, caption="a caption", labels=[3, 8], predictions=[3, 1])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 * (1 + 4) + 2 and "heatmaps.png" in names and "heatmaps.pdf" in names
    assert all(p.exists() and p.stat().st_size > 0 for p in files)


def faint_maps_with_a_hot_cell():
    """What a large β draws: KL of a few thousandths of a nat, highest on the digit's box, plus one cell
    (padding at the corner) hundreds of times larger. Two images, two layers."""
    rng = np.random.default_rng(0)
    images = np.zeros((2, 96, 96, 1), dtype="float32")
    boxes = np.array([[8, 8, 40, 40], [48, 40, 80, 72]])
    maps = []
    for size in (48, 24):
        layer = rng.uniform(0, 1e-3, size=(2, size, size))
        for heatmap, box in zip(layer, boxes):
            heatmap[box_mask(box, (size, size), (96, 96))] += 0.01
            heatmap[-1, -1] = 5.0
        maps.append(layer)
    return images, boxes, maps


def test_a_faint_map_with_one_hot_cell_still_shows_where_its_kl_is(tmp_path):
    from PIL import Image

    images, boxes, maps = faint_maps_with_a_hot_cell()
    plot_kl_heatmaps(images, maps, ["first", "second"], tmp_path)
    for i, box in enumerate(boxes):
        for name, layer in zip(["first", "second"], maps):
            pixels = np.asarray(Image.open(tmp_path / f"image{i}-{name}.png").convert("L"), dtype=float)
            inside = box_mask(box, pixels.shape, (96, 96))
            # On a scale stretched to the hot cell both would be the colour map's first colour.
            assert pixels[inside].mean() - pixels[~inside].mean() > 100


def test_rows_name_the_digit_and_the_prediction_and_every_panel_of_a_row_lines_up(figures, tmp_path):
    images, boxes, maps = faint_maps_with_a_hot_cell()
    blank = [np.zeros((1, *m.shape[1:])) for m in maps]
    plot_kl_heatmaps(images, maps, ["first", "second"], tmp_path, title="β = 0.5", boxes=boxes, blank_maps=blank,
                     labels=[7, 2], predictions=[7, 5])
    figure = figures[0]
    panels = [axis for axis in figure.axes if axis.images and axis.get_label() != "<colorbar>"][:3 * 3]
    rows = [panels[3 * i:3 * i + 3] for i in range(3)]  # two images and the blank canvas; input + 2 layers
    assert [row[0].get_ylabel() for row in rows] == ["digit 7\npredicted 7", "digit 2\npredicted 5",
                                                    "blank canvas\n(padding only)"]
    assert rows[1][0].yaxis.label.get_color() == "red"  # a wrong prediction
    for row in rows:  # the input column sits level with its maps, the blank canvas's row included
        assert {round(axis.get_position().y0, 6) for axis in row} == {round(row[0].get_position().y0, 6)}
        assert {round(axis.get_position().height, 6) for axis in row} == {round(row[0].get_position().height, 6)}
    assert [axis.get_title() for axis in rows[0]] == ["input", "layer 1 (48×48)", "layer 2 (24×24)"]
    assert "1st–99th percentile" in " ".join(text.get_text() for text in figure.texts)


def test_log_activation_summary_of_known_values():
    log_z = np.array([[-np.inf, -np.inf], [1.0, 3.0]])  # two units off (log 0), two at log z = 1 and 3
    summary = log_activation_summary(log_z)
    assert summary == pytest.approx({"log_z_mean": 2.0, "log_z_std": 1.0, "zero_fraction": 0.5})
    with pytest.raises(ValueError, match="every activation is 0"):
        log_activation_summary(np.full(3, -np.inf))
