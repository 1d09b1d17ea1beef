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


HEATMAP_PERCENTILES = (1.0, 99.0)


def heatmap_scales(*map_sets: Sequence[np.ndarray],
                   percentiles: tuple[float, float] = HEATMAP_PERCENTILES) -> list[tuple[float, float]]:
    """One robust (vmin, vmax) per layer: the given percentiles of every value of that layer's maps in
    every set given. A few extreme cells (a padding band, one hot spot) then no longer stretch the
    scale until the rest of the map is one colour; values beyond it are clipped. A layer whose values
    are all equal gets a range of width 1 around them, so that it still draws (as one colour)."""
    scales = []
    for layer in zip(*map_sets):
        values = np.concatenate([np.asarray(m, dtype=np.float64).ravel() for m in layer])
        low, high = (float(v) for v in np.percentile(values, percentiles))
        if high <= low:  # constant, or a map whose cells are nearly all one value
            low, high = float(values.min()), float(values.max())
        if high <= low:
            low, high = low - 0.5, high + 0.5
        scales.append((low, high))
    return scales


def _draw_box(axis, box, map_shape: tuple[int, int], input_shape: tuple[int, int]) -> None:
    """The box (top, left, bottom, right, in input pixels, bottom/right exclusive) on an image whose pixels
    cover the input at the map's resolution (imshow puts pixel centres at integers, hence the −0.5)."""
    from matplotlib.patches import Rectangle

    top, left, bottom, right = (float(v) for v in box)
    rows, cols = map_shape[0] / input_shape[0], map_shape[1] / input_shape[1]
    axis.add_patch(Rectangle((left * cols - 0.5, top * rows - 0.5), (right - left) * cols, (bottom - top) * rows,
                             fill=False, edgecolor="cyan", linewidth=1.2))


def _row_label(label, prediction) -> tuple[str, str]:
    """The text beside a row (the true class and the network's prediction, as given) and its colour:
    red where the prediction is wrong."""
    parts = ([f"digit {label}"] if label is not None else []) + (
        [f"predicted {prediction}"] if prediction is not None else [])
    wrong = label is not None and prediction is not None and int(label) != int(prediction)
    return "\n".join(parts), "red" if wrong else "black"


def plot_kl_heatmaps(images: np.ndarray, maps: Sequence[np.ndarray], layer_names: Sequence[str],
                     out_dir: str | os.PathLike, title: str = "", boxes: np.ndarray | None = None,
                     scales: Sequence[tuple[float, float]] | None = None,
                     blank_maps: Sequence[np.ndarray] | None = None, caption: str = "",
                     labels: Sequence[int] | None = None, predictions: Sequence[int] | None = None) -> list[Path]:
    """Figures 2 and 7: for each image, its input and one KL heatmap per dropout layer.

    Writes ``image<i>-input.png`` and ``image<i>-<layer>.png`` for every image and layer, and
    ``heatmaps.png`` / ``.pdf`` combining them (rows: images; columns: input, then the layers from
    the first, "layer 1", to the last).

    The colour rule, printed under the figure: each layer's column has its own scale, the 1st to 99th
    percentile of that layer's KL over the images shown (:func:`heatmap_scales`), with its colour bar
    under the column; values beyond it are clipped (the bar's arrows). So every β and every layer
    shows its structure, however small its KL; magnitudes compare through the colour bars' numbers,
    not through the colours. ``scales`` (one (vmin, vmax) per layer) replaces that rule.

    ``labels`` and ``predictions`` (one class per image: the true digit, the network's prediction)
    are written beside each row, a wrong prediction in red. ``boxes`` (one (top, left, bottom, right)
    per image, input pixels) draws the target digit's box on the input and on every map.
    ``blank_maps`` (one (1, H, W) array per layer: the maps of a blank canvas) adds a last row, on
    the same scales, showing what the network's padding alone draws. ``title`` heads the figure
    (e.g. "β = 0.05"), ``caption`` is printed under it before the colour rule. Returns the files
    written.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scales_given = scales is not None
    scales = list(scales) if scales_given else heatmap_scales([m[:len(images)] for m in maps])
    files = []
    for i, image in enumerate(images):
        files.append(out_dir / f"image{i}-input.png")
        plt.imsave(files[-1], np.squeeze(image), cmap="gray")
        for name, layer_maps, (vmin, vmax) in zip(layer_names, maps, scales):
            files.append(out_dir / f"image{i}-{name}.png")
            plt.imsave(files[-1], layer_maps[i], cmap="inferno", vmin=vmin, vmax=vmax)
    rows = []
    for i, image in enumerate(images):
        text = _row_label(None if labels is None else labels[i], None if predictions is None else predictions[i])
        rows.append((np.squeeze(image), [layer[i] for layer in maps], None if boxes is None else boxes[i], text))
    if blank_maps is not None:
        rows.append((np.zeros_like(np.squeeze(images[0])), [m[0] for m in blank_maps], None,
                     ("blank canvas\n(padding only)", "black")))
    columns = 1 + len(maps)
    # One grid for every panel, the colour bars in a thin last row of their own: colour bars attached
    # to a column's axes would shrink that column only, and the input column would no longer line up.
    height = 2.1 * len(rows) + 1.0
    figure = plt.figure(figsize=(2.1 * columns + 0.6, height))
    grid = figure.add_gridspec(len(rows) + 1, columns, height_ratios=[1.0] * len(rows) + [0.06],
                               hspace=0.12, wspace=0.08, top=1 - 0.55 / height, bottom=0.45 / height)
    input_shape = np.squeeze(images[0]).shape[:2]
    drawn_per_layer: list[list] = [[] for _ in maps]
    for i, (image, layer_maps, box, (text, colour)) in enumerate(rows):
        axis = figure.add_subplot(grid[i, 0])
        axis.imshow(image, cmap="gray")
        axis.set_ylabel(text, fontsize=9, color=colour)
        if box is not None:
            _draw_box(axis, box, input_shape, input_shape)
        if i == 0:
            axis.set_title("input", fontsize=9)
        for j, (layer_map, (vmin, vmax)) in enumerate(zip(layer_maps, scales)):
            map_axis = figure.add_subplot(grid[i, j + 1])
            drawn_per_layer[j].append(map_axis.imshow(layer_map, cmap="inferno", vmin=vmin, vmax=vmax))
            if box is not None:
                _draw_box(map_axis, box, layer_map.shape, input_shape)
            if i == 0:
                map_axis.set_title(f"layer {j + 1} ({layer_map.shape[0]}×{layer_map.shape[1]})", fontsize=9)
    for axis in figure.axes:
        axis.set_xticks([])
        axis.set_yticks([])
    for j, ((vmin, vmax), drawn) in enumerate(zip(scales, drawn_per_layer)):
        values = np.concatenate([np.ravel(d.get_array()) for d in drawn])
        extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[
            (bool(values.min() < vmin), bool(values.max() > vmax))]
        bar = figure.colorbar(drawn[0], cax=figure.add_subplot(grid[-1, j + 1]), orientation="horizontal",
                              extend=extend)
        bar.set_label("KL (nats)", fontsize=8)
        bar.ax.xaxis.set_major_locator(MaxNLocator(3))
        bar.ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
        bar.ax.tick_params(labelsize=7)
    if title:
        figure.suptitle(title, y=0.995)
    rule = ("Colour: each layer's column on its own scale, the 1st–99th percentile of its KL over the images shown "
            "(its colour bar; arrows: values beyond it, clipped). Compare magnitudes by the bars' numbers, not by "
            "colour." if not scales_given else
            "Colour: each layer's column on the scale its colour bar shows (arrows: values beyond it, clipped).")
    note = f"{caption} {rule}" if caption else rule
    figure.text(0.02, 0.0, textwrap.fill(note, 28 * columns), fontsize=7, va="top")
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
    # A run's name (cifar.activations=softplus.beta=0.3...) is spelled in words, naming the data set the figure
    # shows, and wrapped, so that it no longer widens the figure and squeezes the plot into a corner.
    from infodropout.paper.figures.titles import human_title, wrapped

    if title:
        axis.set_title(wrapped(human_title(title), 60), fontsize=7)


def _tick_at(axis, xs: Sequence[float]) -> None:
    """Label a log-scaled x axis at the measured values, as plain numbers (0.05, 0.1, 512): the
    default labels (2^9, 3×10^-1) are harder to read and crowd each other between decades."""
    axis.set_xticks(list(xs), [f"{x:g}" for x in xs])
    axis.set_xticks([], minor=True)


# Lines that would lie on each other are told apart three ways: each series its own marker and dash
# pattern, and a small shift along x (a share of the axis' width, in its own scale: log, symlog or linear).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ("-", "--", "-.", ":")
X_SHIFT = 0.012


def _shifted(axis, xs: Sequence[float], index: int, count: int, x_range: tuple[float, float]) -> np.ndarray:
    """The x positions of the ``index``-th of ``count`` series: shifted symmetrically around the true x
    (the ticks stay at the measured values), by ``X_SHIFT`` of the axis' width between neighbours,
    measured in the axis' scale (set before drawing)."""
    scale = axis.xaxis.get_transform()
    forward = scale.transform(np.asarray(xs, dtype=np.float64).reshape(-1, 1)).ravel()
    low, high = scale.transform(np.asarray(x_range, dtype=np.float64).reshape(-1, 1)).ravel()
    width = high - low if high > low else 1.0
    shift = (index - (count - 1) / 2) * X_SHIFT * width
    return scale.inverted().transform((forward + shift).reshape(-1, 1)).ravel()


def _set_x_scale(axis, xs: Sequence[float], base: float = 10) -> None:
    """Log-scaled when every x is positive; with a 0 among positive values (a β = 0 point), symmetric-log:
    linear up to the smallest positive x, logarithmic beyond, so that neither end is crowded.
    Labelled at the measured values."""
    positive = [x for x in xs if x > 0]
    if xs and len(positive) == len(xs):
        axis.set_xscale("log", base=base)
    elif len(positive) >= 2 and min(xs) >= 0:
        axis.set_xscale("symlog", base=base, linthresh=min(positive), linscale=0.5)
    else:
        return
    _tick_at(axis, xs)


def _standard_error(values: Sequence[float]) -> float:
    """The standard error of the mean of the seeds' values, s / √n with the sample standard deviation
    (n − 1); 0 for a single value."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def _draw_series(axis, xs: Sequence[float], groups: Sequence[Sequence[float]], style: int, index: int, count: int,
                 x_range: tuple[float, float], label: str) -> list[float]:
    """One series: the mean of each group (the seeds at one x) with its standard error as an error bar,
    in the colour, marker and dashes of ``style`` (the same series looks the same in every panel).
    Returns the ends of the bars, for the axis' range."""
    means = [float(np.mean(g)) for g in groups]
    errors = [_standard_error(g) for g in groups]
    axis.errorbar(_shifted(axis, xs, index, count, x_range), means, yerr=errors if any(errors) else None,
                  marker=MARKERS[style % len(MARKERS)], linestyle=DASHES[style % len(DASHES)], markersize=5,
                  color=f"C{style % 10}",
                  capsize=3, label=label)
    return [m - e for m, e in zip(means, errors)] + [m + e for m, e in zip(means, errors)]


# What a figure's error bar is, said in every legend and, from this one name, by the report beside the figures.
ERROR_BAR = "standard error"


def _bar_note(counts: Sequence[int], series: int) -> str:
    """The legend's title: what a point and its bar are (n from the data), and the shift if any."""
    low, high = min(counts, default=1), max(counts, default=1)
    note = "one run per point" if high <= 1 else \
        f"mean ± {ERROR_BAR} over {low if low == high else f'{low}–{high}'} seeds"
    return note + ("\n(series shifted slightly along x to stay apart)" if series > 1 else "")


def _chance_and_range(axis, values: Sequence[float], chance: float | None, unit: str) -> None:
    """The chance line, and a y range that fits the data with a margin. The line is drawn where the
    data come within half its level of it (a task near or at chance); otherwise drawing it would
    squeeze the data into a strip, so the legend only says where it lies."""
    low, high = min(values), max(values)
    if chance is not None:
        gap = max(chance - high, low - chance, 0.0)
        if gap <= max(high - low, abs(chance) / 2):
            axis.axhline(chance, color="0.35", linestyle=(0, (1, 2)), linewidth=1.3, label=f"chance, {chance:g}{unit}")
            low, high = min(low, chance), max(high, chance)
        else:
            axis.plot([], [], color="0.35", linestyle=(0, (1, 2)), linewidth=1.3,
                      label=f"chance, {chance:g}{unit} ({'above' if chance > high else 'below'} this axis)")
    margin = 0.08 * (high - low) if high > low else max(abs(high) * 0.05, 0.5)
    axis.set_ylim(low - margin, high + margin)


def _legend(axis, title: str) -> None:
    # Under the axes, off the data: with several series and their seeds' bars there is no empty corner.
    axis.legend(fontsize=8, title=title, title_fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                ncol=2, frameon=False)


def plot_series(results: Sequence[dict], x_key: str, series: dict[str, str], path_without_suffix: str | os.PathLike,
                xlabel: str, ylabel: str, title: str = "", chance: float | None = None,
                panels: Sequence[Sequence[str]] | None = None) -> list[Path]:
    """One line per entry of ``series`` (key in each result → legend label) against ``x_key``, log-scaled
    when every x is positive (symmetric-log with a 0 among them, such as a β = 0 point): figure 4's errors or the localisation per layer against β, figure 5's error
    and total correlation, figure 6's information per layer against the share of filters.

    Several results at one x (seeds) are drawn as their mean with its standard error (sample standard
    deviation / √n) as an error bar; the legend says so, with n from the data. Each series has its
    own marker and dash pattern and a small shift along x, so that equal curves stay visible.
    ``chance`` (in the y unit, e.g. 90 for a 10-class error in %) draws the chance level where the data
    come near it, and names it in the legend otherwise. ``panels`` splits the series into side-by-side
    plots (lists of keys), each with its own y range, so that curves of very different levels (a task
    near 20 %, another near chance) are not both flattened on one axis. The y range fits the data
    with a margin."""
    results = [r for r in results if all(r.get(key) is not None for key in series)]
    groups = [list(series)] if panels is None else [list(panel) for panel in panels]
    unknown = [key for panel in groups for key in panel if key not in series]
    if unknown:
        raise ValueError(f"panels name keys that are not series: {unknown}")
    xs = sorted({r[x_key] for r in results})
    x_range = (min(xs), max(xs)) if xs else (0.0, 1.0)
    unit = " %" if "%" in ylabel else ""
    figure, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4.4), squeeze=False)
    counts = [sum(r[x_key] == x for r in results) for x in xs]
    keys = list(series)
    for axis, panel in zip(axes[0], groups):
        _set_x_scale(axis, xs)
        ends = []
        for index, key in enumerate(panel):
            values = [[r[key] for r in results if r[x_key] == x] for x in xs]
            ends += _draw_series(axis, xs, values, keys.index(key), index, len(panel), x_range, series[key])
        if ends:
            _chance_and_range(axis, ends, chance, unit)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        _legend(axis, _bar_note(counts, len(panel)))
    if len(groups) == 1:
        _set_title(axes[0, 0], title)
    elif title:
        figure.suptitle(textwrap.fill(title, 60 * len(groups)), fontsize=9)
    return save_figure(figure, path_without_suffix)


METHOD_LABELS = {"information": "Information Dropout", "binary": "binary dropout",
                 "lognormal": "constant log-normal", "none": "no dropout"}


def plot_error_by_method(results: Sequence[dict], x_key: str, path_without_suffix: str | os.PathLike,
                         methods: Sequence[str], xlabel: str, chance: float | None = None) -> list[Path]:
    """Figures 3a and 3b: test error against ``x_key`` (hidden units, share of filters), one line per
    dropout method, as :func:`plot_series` draws them: the mean over seeds with its standard error as
    error bars (said in the legend), a marker, dash pattern and small x shift per method, and the
    ``chance`` error (in %) drawn where the errors come near it."""
    figure, axis = plt.subplots(figsize=(5, 4.4))
    all_xs = sorted({r[x_key] for r in results})
    _set_x_scale(axis, all_xs, base=2)
    x_range = (min(all_xs), max(all_xs)) if all_xs else (1.0, 2.0)
    ends, counts = [], []
    for index, method in enumerate(methods):
        xs = sorted({r[x_key] for r in results if r["dropout"] == method})
        errors = [[r["error"] for r in results if r["dropout"] == method and r[x_key] == x] for x in xs]
        counts += [len(e) for e in errors]
        ends += _draw_series(axis, xs, errors, index, index, len(methods), x_range, METHOD_LABELS.get(method, method))
    if ends:
        _chance_and_range(axis, ends, chance, " %")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("test error (%)")
    axis.grid(alpha=0.3)
    _legend(axis, _bar_note(counts, len(methods)))
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

