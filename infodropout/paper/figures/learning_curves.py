"""The VAE's learning curves: the validation bound per epoch, one panel per number of hidden layers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from infodropout.paper.figures import plots
from infodropout.paper.figures.plots import plt

# The first epochs climb from far below where the runs end; the axes start at this epoch so that the gaps between
# the latents stay visible (the curves are drawn from epoch 1 and leave the axes below).
Y_RANGE_FROM_EPOCH = 5


@dataclass(frozen=True)
class Curve:
    """One run's validation bound per epoch.

    series: what the colour tells apart (e.g. the latent); a series' runs (seeds) share its colour and legend entry.
    panel: which axis it is drawn in (e.g. "k = 2").
    records: ``{"epoch", "val_elbo"}`` per epoch, e.g. from a history file.
    best_epoch: the checkpoint's epoch, marked with a star.
    bound: False for an improper prior (the log-uniform one, whose KL is defined only up to a constant): the curve
        is dashed and its series labelled "not a bound", since its value compares with no other curve.
    """

    series: str
    panel: str
    records: Sequence[dict]
    best_epoch: int | None = None
    bound: bool = True


def plot_learning_curves(curves: Sequence[Curve], path_without_suffix: str | os.PathLike) -> list[Path]:
    """One panel per ``Curve.panel`` (in order of first appearance), all sharing the y axis, and one colour and
    legend entry per series; returns the PNG written."""
    if not curves:
        raise ValueError("no learning curves to draw")
    for curve in curves:
        if not curve.records:
            raise ValueError(f"the curve of {curve.series}, {curve.panel} has no epochs")
    panels = list(dict.fromkeys(curve.panel for curve in curves))
    series = list(dict.fromkeys(curve.series for curve in curves))
    not_bounds = {curve.series for curve in curves if not curve.bound}
    mixed = not_bounds & {curve.series for curve in curves if curve.bound}
    if mixed:
        raise ValueError(f"a series is either a bound or not, for all its runs: {sorted(mixed)}")
    colours = {name: f"C{index}" for index, name in enumerate(series)}

    figure, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), sharey=True, squeeze=False)
    axis_of = dict(zip(panels, axes[0]))
    for curve in curves:
        axis = axis_of[curve.panel]
        epochs = [r["epoch"] for r in curve.records]
        values = [r["val_elbo"] for r in curve.records]
        style = "-" if curve.bound else "--"
        axis.plot(epochs, values, linestyle=style, linewidth=1.0, alpha=0.8, color=colours[curve.series])
        if curve.best_epoch is not None and curve.best_epoch in epochs:
            axis.plot([curve.best_epoch], [values[epochs.index(curve.best_epoch)]], marker="*", markersize=9,
                      linestyle="none", color=colours[curve.series])
    later = [r["val_elbo"] for curve in curves for r in curve.records if r["epoch"] >= Y_RANGE_FROM_EPOCH]
    if later:
        low, high = min(later), max(later)
        margin = 0.05 * max(high - low, 1.0)
        axes[0][0].set_ylim(low - margin, high + margin)
    for panel, axis in axis_of.items():
        axis.set_title(panel, fontsize=10)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation bound (nats per image)")
    handles = [plt.Line2D([], [], color=colours[name], linestyle="--" if name in not_bounds else "-",
                          label=f"{name}: not a bound (improper prior)" if name in not_bounds else name)
               for name in series]
    handles.append(plt.Line2D([], [], color="grey", marker="*", linestyle="none", markersize=9,
                              label="best epoch (the checkpoint)"))
    title = f"one line per seed; the y axis spans epoch {Y_RANGE_FROM_EPOCH} on (the first epochs run below it)"
    figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, fontsize=8,
                  frameon=False, title=title, title_fontsize=8)
    figure.tight_layout()
    return plots.save_figure(figure, path_without_suffix, formats=("png",))
