"""Where a layer's KL falls in the image (figures 2 and 7): KL heatmaps, the share of each map on the
object's box (the localisation score), the ink baselines a map must beat, and each cell's receptive
field, which tells the cells that reach the convolutions' zero padding."""

from __future__ import annotations

import keras
import numpy as np

from infodropout.layers import InformationDropout, information_dropout_layers
from infodropout.readouts import all_layer_readouts


def kl_heatmaps(model: keras.Model, x: np.ndarray, batch_size: int = 100) -> list[np.ndarray]:
    """Figures 2 and 7: for each Information Dropout layer, the KL summed over channels at each
    spatial position, minus the map's minimum, one (N, H, W) array per layer (deterministic network)."""
    maps = []
    for layer, readout in zip(information_dropout_layers(model), all_layer_readouts(model, x, batch_size=batch_size)):
        kl = readout["kl"]
        if kl.ndim != 4:
            raise ValueError(f"kl_heatmaps needs convolutional layers; {layer.name} has a KL of shape {kl.shape[1:]}.")
        summed = kl.sum(axis=-1)
        maps.append(summed - summed.min(axis=(1, 2), keepdims=True))
    return maps


def box_mask(box: np.ndarray, map_shape: tuple[int, int], input_shape: tuple[int, int]) -> np.ndarray:
    """The cells of a (H, W) map whose centre lies in ``box`` = (top, left, bottom, right), given in
    input pixels with bottom and right exclusive, for a map that covers an input of ``input_shape``."""
    (height, width), (in_height, in_width) = map_shape, input_shape
    rows = (np.arange(height) + 0.5) * in_height / height
    cols = (np.arange(width) + 0.5) * in_width / width
    top, left, bottom, right = box
    return ((rows >= top) & (rows < bottom))[:, None] & ((cols >= left) & (cols < right))[None, :]


def localisation_score(
    maps: np.ndarray,
    boxes: np.ndarray,
    input_shape: tuple[int, int],
    excluded: np.ndarray | None = None,
) -> dict[str, float]:
    """How much of each KL map falls on the object: figure 2 in numbers.

    ``maps`` is (N, H, W) (non-negative, e.g. from :func:`kl_heatmaps`), ``boxes`` (N, 4) as in
    :func:`box_mask`. ``excluded`` is an optional (H, W) boolean mask of cells left out of every map
    and box (e.g. :func:`padded_border` of the layer: cells that the convolutions' zero padding reaches,
    which light up on a blank canvas too). Returns

    - ``mass_inside``: the mean over images of the share of the map's mass inside the box (images whose
      map is all zero on the cells kept are left out; NaN if every one is),
    - ``max_inside``: the mean over images of the share of the map's peak cells that lie inside the box;
      one peak counts 1 or 0, a tie of k cells 1/k each (an all-zero map ties everywhere and scores the
      box's share of the cells, what a map without information scores).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or len(maps) != len(boxes):
        raise ValueError(f"localisation_score needs (N, H, W) maps and N boxes, got {maps.shape} and {len(boxes)}.")
    kept = np.ones(maps.shape[1:], dtype=bool) if excluded is None else ~np.asarray(excluded, dtype=bool)
    if kept.shape != maps.shape[1:]:
        raise ValueError(f"localisation_score: the excluded mask is {kept.shape}, the maps {maps.shape[1:]}.")
    if not kept.any():
        raise ValueError("localisation_score: the excluded mask leaves no cell of the map.")
    shares, peaks = [], []
    for heatmap, box in zip(maps, boxes):
        values = heatmap[kept]
        inside = box_mask(box, heatmap.shape, input_shape)[kept]
        total = values.sum()
        if total > 0:
            shares.append(values[inside].sum() / total)
        peaks.append(np.mean(inside[values == values.max()]))
    return {"mass_inside": float(np.mean(shares)) if shares else float("nan"), "max_inside": float(np.mean(peaks))}


def ink_maps(images: np.ndarray, map_shape: tuple[int, int]) -> np.ndarray:
    """The localisation score's baseline maps: each image's own ink, (N, H, W[, C]) summed over
    channels and averaged over the input pixels of each cell of a (H, W) map (a map that only knows
    where the ink is, at the layer's resolution). The input's sides must be multiples of the map's."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        images = images.sum(axis=-1)
    if images.ndim != 3:
        raise ValueError(f"ink_maps needs (N, H, W) or (N, H, W, C) images, got shape {images.shape}.")
    (count, in_height, in_width), (height, width) = images.shape, map_shape
    if in_height % height or in_width % width:
        raise ValueError(f"ink_maps: a {in_height}×{in_width} input does not pool evenly to {height}×{width}.")
    blocks = images.reshape(count, height, in_height // height, width, in_width // width)
    return blocks.mean(axis=(2, 4))


def localisation_with_baseline(
    maps: np.ndarray,
    images: np.ndarray,
    boxes: np.ndarray,
    excluded: np.ndarray | None = None,
    field_ink: np.ndarray | None = None,
) -> dict[str, float]:
    """:func:`localisation_score` of the KL ``maps`` (N, H, W) of the inputs ``images`` and, as
    ``mass_inside_ink`` and ``max_inside_ink``, the same score of the images' own ink at the maps'
    resolution (:func:`ink_maps`), with the same ``excluded`` cells: what a map that only follows the
    ink scores, so that a KL map localises the object only as far as it beats it. Given ``field_ink``
    (the layer's :func:`field_ink_maps`), its score too, as ``mass_inside_field_ink`` and
    ``max_inside_field_ink``."""
    input_shape = tuple(np.shape(images)[1:3])
    scores = localisation_score(maps, boxes, input_shape, excluded)
    baselines = {"ink": ink_maps(images, np.shape(maps)[1:3])}
    if field_ink is not None:
        baselines["field_ink"] = field_ink
    for name, baseline in baselines.items():
        score = localisation_score(baseline, boxes, input_shape, excluded)
        scores.update({f"{key}_{name}": value for key, value in score.items()})
    return scores


def receptive_fields(model: keras.Model) -> list[tuple[tuple[np.ndarray, np.ndarray], ...]]:
    """For each Information Dropout layer of a convolutional ``model``, per spatial axis, the first and
    the last input index that each cell of its map sees: ``((first_rows, last_rows), (first_cols,
    last_cols))``, with -1 and the input's size where the window reaches the zero padding.

    Follows the model's 2-D convolutions (bare or inside an Information Dropout layer) in the order of
    ``model.layers``, which must form one chain (as in All-CNN); a convolution's window at output
    index j starts at ``j·stride − pad_before`` with TensorFlow's SAME split (the smaller half before).
    """
    spatial = tuple(model.input.shape[1:3])
    reach = [(np.arange(size), np.arange(size)) for size in spatial]
    fields = []
    for layer in model.layers:
        conv = layer.layer if isinstance(layer, InformationDropout) else layer
        if isinstance(conv, keras.layers.Conv2D):
            if tuple(conv.dilation_rate) != (1, 1):
                raise ValueError(f"receptive_fields: {conv.name} is dilated, which it does not follow.")
            reach = [_window_reach(first, last, kernel, stride, conv.padding, size)
                     for (first, last), kernel, stride, size
                     in zip(reach, conv.kernel_size, conv.strides, spatial)]
        if isinstance(layer, InformationDropout):
            if not isinstance(conv, keras.layers.Conv2D):
                raise ValueError(f"receptive_fields needs convolutional layers; {layer.name} wraps {conv.name}.")
            fields.append(tuple(reach))
    return fields


def padded_border(model: keras.Model) -> list[np.ndarray]:
    """For each Information Dropout layer of a convolutional ``model``, the (H, W) boolean mask of the
    cells whose receptive field (:func:`receptive_fields`) reaches past the input's edge into the zero
    padding of a SAME convolution: on a blank canvas these edge bands light up by themselves, so they
    say nothing of where the object is."""
    spatial = tuple(model.input.shape[1:3])
    masks = []
    for (rows_first, rows_last), (cols_first, cols_last) in receptive_fields(model):
        rows = (rows_first < 0) | (rows_last >= spatial[0])
        cols = (cols_first < 0) | (cols_last >= spatial[1])
        masks.append(rows[:, None] | cols[None, :])
    return masks


def field_ink_maps(images: np.ndarray, model: keras.Model) -> list[np.ndarray]:
    """A stronger baseline than :func:`ink_maps`: for each Information Dropout layer of ``model``, each
    image's ink (summed over channels) over each cell's whole receptive field (:func:`receptive_fields`,
    the padding counting as no ink), one (N, H, W) array per layer: the ink blurred as far as the layer
    sees, which peaks where ink is densest over that extent (often the digit rather than a distractor)."""
    images = np.asarray(images, dtype=np.float64)
    ink = images.sum(axis=-1) if images.ndim == 4 else images
    # An integral image with a zero first row and column: any window's sum from four corners.
    integral = np.pad(ink.cumsum(axis=1).cumsum(axis=2), ((0, 0), (1, 0), (1, 0)))
    maps = []
    for (rows_first, rows_last), (cols_first, cols_last) in receptive_fields(model):
        top, bottom = np.clip(rows_first, 0, None), np.clip(rows_last + 1, None, ink.shape[1])
        left, right = np.clip(cols_first, 0, None), np.clip(cols_last + 1, None, ink.shape[2])
        maps.append(integral[:, bottom][:, :, right] - integral[:, top][:, :, right]
                    - integral[:, bottom][:, :, left] + integral[:, top][:, :, left])
    return maps


def _window_reach(first: np.ndarray, last: np.ndarray, kernel: int, stride: int, padding: str,
                  input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """One convolution along one axis: the first and last original input index seen by each output
    cell, given those of its input cells (``first``/``last``), -1 or ``input_size`` where it reaches
    the padding."""
    size = len(first)
    if padding == "same":
        outputs = -(-size // stride)
        before = max((outputs - 1) * stride + kernel - size, 0) // 2
    else:
        outputs, before = (size - kernel) // stride + 1, 0
    start = np.arange(outputs) * stride - before
    end = start + kernel - 1
    return (np.where(start < 0, -1, first[np.clip(start, 0, size - 1)]),
            np.where(end >= size, input_size, last[np.clip(end, 0, size - 1)]))
