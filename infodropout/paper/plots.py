"""Figures, drawn with matplotlib's file backend (no display needed)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_figure(figure, path_without_suffix: str | os.PathLike, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write the figure once per format and close it; returns the files."""
    path = Path(path_without_suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    files = [path.with_name(f"{path.name}.{fmt}") for fmt in formats]
    for file in files:
        figure.savefig(file, bbox_inches="tight", dpi=150)
    plt.close(figure)
    return files


def heatmap_scales(*map_sets: Sequence[np.ndarray]) -> list[tuple[float, float]]:
    """One (vmin, vmax) per layer covering every map of every set given (e.g. one set per β), so that
    figures drawn with them share a colour scale per layer and their rows compare."""
    return [(min(float(np.min(m)) for m in layer), max(float(np.max(m)) for m in layer))
            for layer in zip(*map_sets)]


def _draw_box(axis, box, map_shape: tuple[int, int], input_shape: tuple[int, int]) -> None:
    """The box (top, left, bottom, right, in input pixels, bottom/right exclusive) on an image whose pixels
    cover the input at the map's resolution (imshow puts pixel centres at integers, hence the −0.5)."""
    from matplotlib.patches import Rectangle

    top, left, bottom, right = (float(v) for v in box)
    rows, cols = map_shape[0] / input_shape[0], map_shape[1] / input_shape[1]
    axis.add_patch(Rectangle((left * cols - 0.5, top * rows - 0.5), (right - left) * cols, (bottom - top) * rows,
                             fill=False, edgecolor="cyan", linewidth=1.2))


def plot_kl_heatmaps(images: np.ndarray, maps: Sequence[np.ndarray], layer_names: Sequence[str],
                     out_dir: str | os.PathLike, title: str = "", boxes: np.ndarray | None = None,
                     scales: Sequence[tuple[float, float]] | None = None,
                     blank_maps: Sequence[np.ndarray] | None = None, caption: str = "") -> list[Path]:
    """Figures 2 and 7: for each image, its input and one KL heatmap per dropout layer.

    Writes ``image<i>-input.png`` and ``image<i>-<layer>.png`` for every image and layer, and
    ``heatmaps.png`` / ``.pdf`` combining them (rows: images; columns: input, then the layers from
    the first to the last), each layer's column on one colour scale with its colour bar. ``scales``
    gives (vmin, vmax) per layer, e.g. :func:`heatmap_scales` over several β so that their figures
    compare; by default the range of the maps shown. ``boxes`` (one (top, left, bottom, right) per
    image, input pixels) draws the target digit's box on the input and on every map. ``blank_maps``
    (one (1, H, W) array per layer: the maps of a blank canvas) adds a last row showing what the
    network's padding alone draws. ``caption`` is printed under the figure. Returns the files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = [list(m) for m in maps]
    scales = list(scales) if scales is not None else heatmap_scales(maps, *([blank_maps] if blank_maps else []))
    files = []
    for i, image in enumerate(images):
        files.append(out_dir / f"image{i}-input.png")
        plt.imsave(files[-1], np.squeeze(image), cmap="gray")
        for name, layer_maps, (vmin, vmax) in zip(layer_names, maps, scales):
            files.append(out_dir / f"image{i}-{name}.png")
            plt.imsave(files[-1], layer_maps[i], cmap="inferno", vmin=vmin, vmax=vmax)
    rows = [(np.squeeze(image), [layer[i] for layer in shown], None if boxes is None else boxes[i])
            for i, image in enumerate(images)]
    if blank_maps is not None:
        rows.append((np.zeros_like(np.squeeze(images[0])), [m[0] for m in blank_maps], None))
    columns = 1 + len(maps)
    figure, axes = plt.subplots(len(rows), columns, figsize=(2.3 * columns + 0.6, 2.2 * len(rows) + 0.4 * bool(caption)),
                                squeeze=False)
    input_shape = np.squeeze(images[0]).shape[:2]
    for i, (image, layer_maps, box) in enumerate(rows):
        axes[i, 0].imshow(image, cmap="gray")
        if box is not None:
            _draw_box(axes[i, 0], box, input_shape, input_shape)
        for j, (layer_map, (vmin, vmax)) in enumerate(zip(layer_maps, scales), start=1):
            drawn = axes[i, j].imshow(layer_map, cmap="inferno", vmin=vmin, vmax=vmax)
            if box is not None:
                _draw_box(axes[i, j], box, layer_map.shape, input_shape)
            if i == len(rows) - 1:  # one colour bar per layer, under its column
                figure.colorbar(drawn, ax=axes[:, j], orientation="horizontal", fraction=0.05, pad=0.02,
                                label="KL (nats)")
        for axis in axes[i]:
            axis.set_xticks([])
            axis.set_yticks([])
    if blank_maps is not None:
        axes[-1, 0].set_ylabel("blank canvas", fontsize=9)
    axes[0, 0].set_title("input")
    for j, (name, layer_maps) in enumerate(zip(layer_names, maps), start=1):
        axes[0, j].set_title(f"{name}\n{layer_maps.shape[1]}×{layer_maps.shape[2]}", fontsize=9)
    if title:
        figure.suptitle(title)
    if caption:
        figure.text(0.01, 0.005, textwrap.fill(caption, 40 * columns), fontsize=7, va="bottom")
    return files + save_figure(figure, out_dir / "heatmaps")


def plot_vae_samples(network, images: np.ndarray, out_dir: str | os.PathLike, prior_samples: bool,
                     seed: int = 0) -> list[Path]:
    """A grid of test digits, their reconstructions (the decoder's Bernoulli means, with z at its
    deterministic value) and, if ``prior_samples``, decoded draws from the N(0, I) prior."""
    import keras

    rows = [("test digits", np.squeeze(images, -1)),
            ("reconstructions", np.squeeze(keras.ops.convert_to_numpy(keras.ops.sigmoid(network(images))), -1))]
    if prior_samples:
        decoder = keras.Model(network.get_layer("decoder").input, network.output)
        z = np.random.default_rng(seed).normal(size=(len(images), decoder.input.shape[-1])).astype("float32")
        rows.append(("prior samples", np.squeeze(keras.ops.convert_to_numpy(keras.ops.sigmoid(decoder(z))), -1)))
    figure, axes = plt.subplots(len(rows), len(images), figsize=(1.1 * len(images), 1.25 * len(rows)), squeeze=False)
    for row, (label, pictures) in enumerate(rows):
        for column, picture in enumerate(pictures):
            axes[row, column].imshow(picture, cmap="gray", vmin=0, vmax=1)
            axes[row, column].axis("off")
        axes[row, 0].set_title(label, fontsize=8, loc="left")
    return save_figure(figure, Path(out_dir) / "samples")


def _set_title(axis, title: str) -> None:
    # A run's name is one long word (cifar.activations=softplus.beta=0.3...): wrapped, it no longer
    # widens the figure and squeezes the plot into a corner.
    if title:
        axis.set_title(textwrap.fill(title, 60), fontsize=7)


def _tick_at(axis, xs: Sequence[float]) -> None:
    """Label a log-scaled x axis at the measured values, as plain numbers (0.05, 0.1, 512): the
    default labels (2^9, 3×10^-1) are harder to read and crowd each other between decades."""
    axis.set_xticks(list(xs), [f"{x:g}" for x in xs])
    axis.set_xticks([], minor=True)


def plot_series(results: Sequence[dict], x_key: str, series: dict[str, str], path_without_suffix: str | os.PathLike,
                xlabel: str, ylabel: str, title: str = "") -> list[Path]:
    """One line per entry of ``series`` (key in each result → legend label) against ``x_key``, log-scaled
    when every x is positive: figure 4's errors or the localisation per layer against β, figure 5's error
    and total correlation, figure 6's information per layer against the share of filters. Several results
    at one x (seeds) are drawn as their mean with the sample standard deviation as an error bar."""
    results = [r for r in results if all(r.get(key) is not None for key in series)]
    xs = sorted({r[x_key] for r in results})
    figure, axis = plt.subplots(figsize=(5, 3.6))
    for key, label in series.items():
        values = [[r[key] for r in results if r[x_key] == x] for x in xs]
        spread = [_spread(v) for v in values]
        axis.errorbar(xs, [np.mean(v) for v in values], yerr=spread if any(spread) else None, marker="o",
                      capsize=3, label=label)
    if xs and all(x > 0 for x in xs):
        axis.set_xscale("log")
        _tick_at(axis, xs)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    _set_title(axis, title)
    return save_figure(figure, path_without_suffix)


def _spread(values: Sequence[float]) -> float:
    """The sample standard deviation (n − 1) of the seeds' values; 0 for a single value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def plot_error_by_method(results: Sequence[dict], x_key: str, path_without_suffix: str | os.PathLike,
                         methods: Sequence[str], xlabel: str) -> list[Path]:
    """Figures 3a and 3b: test error against ``x_key`` (hidden units, share of filters), one line per
    dropout method, the mean over seeds with their sample standard deviation as error bars."""
    labels = {"information": "Information Dropout", "binary": "binary dropout",
              "lognormal": "constant log-normal", "none": "no dropout"}
    figure, axis = plt.subplots(figsize=(5, 3.6))
    for method in methods:
        xs = sorted({r[x_key] for r in results if r["dropout"] == method})
        errors = [[r["error"] for r in results if r["dropout"] == method and r[x_key] == x] for x in xs]
        axis.errorbar(xs, [np.mean(e) for e in errors], yerr=[_spread(e) for e in errors], marker="o",
                      capsize=3, label=labels.get(method, method))
    axis.set_xscale("log", base=2)
    _tick_at(axis, sorted({r[x_key] for r in results}))
    axis.set_xlabel(xlabel)
    axis.set_ylabel("test error (%)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return save_figure(figure, path_without_suffix)


def plot_activation_histogram(log_z: np.ndarray, prior: str, path_without_suffix: str | os.PathLike,
                              prior_mean: float = 0.0, prior_std: float = 1.0, title: str = "") -> list[Path]:
    """Figure 1: the histogram of the noisy activations' logarithm against the proposed prior. For
    ReLU units the log-uniform prior q(z) ∝ 1/z is flat in log z (drawn over the histogram's range);
    for Softplus units the log-normal prior logN(μ, σ²) is N(μ, σ²) in log z."""
    values = np.asarray(log_z, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]  # ReLU units at 0 have no logarithm
    figure, axis = plt.subplots(figsize=(5, 3.6))
    axis.hist(values, bins=100, density=True, alpha=0.6, label="log of noisy activations")
    grid = np.linspace(values.min(), values.max(), 400)
    if prior == "log_normal":
        density = np.exp(-0.5 * ((grid - prior_mean) / prior_std) ** 2) / (prior_std * np.sqrt(2 * np.pi))
        axis.plot(grid, density, label=f"log-normal prior (μ={prior_mean:.2f}, σ={prior_std:.2f})")
    else:
        axis.plot(grid, np.full_like(grid, 1.0 / (grid[-1] - grid[0])), label="log-uniform prior")
    axis.set_xlabel("log z")
    axis.set_ylabel("density")
    # Below the axes, off the data: the histogram spans the whole width and the prior's curve its height.
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    _set_title(axis, title)
    return save_figure(figure, path_without_suffix)


def plot_learning_curves(curves: dict[str, Sequence[dict]], path_without_suffix: str | os.PathLike,
                         best_epochs: dict[str, int] | None = None) -> list[Path]:
    """The VAE's validation bound per epoch, one line per run (label → its ``{"epoch", "val_elbo"}``
    records, e.g. from a history file), with the best epoch of each marked."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, records in curves.items():
        epochs = [r["epoch"] for r in records]
        line, = axis.plot(epochs, [r["val_elbo"] for r in records], marker=".", label=label)
        best = (best_epochs or {}).get(label)
        if best is not None and best in epochs:
            axis.plot([best], [records[epochs.index(best)]["val_elbo"]], marker="*", markersize=12,
                      color=line.get_color())
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation lower bound (nats per image)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, title="★ best epoch (the checkpoint)", title_fontsize=8)
    return save_figure(figure, path_without_suffix, formats=("png",))
