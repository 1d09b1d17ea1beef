"""The config of Cluttered MNIST with All-CNN-96 (paper §8; figures 2 and 7): the paper's Cluttered MNIST protocol
(:data:`infodropout.paper.protocols.CLUTTERED`), the digits of the canvases, the heatmaps and the β sweep."""

from __future__ import annotations

from infodropout.paper import protocols
from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.configs.common import (
    BETAS, PLOTS_DIR, PROBE_SETTINGS, SEEDS, SOFTPLUS, all_cnn_settings, training_settings,
)
from infodropout.paper.configs.rules import ALL_CNN_SMALLEST_WIDTH, integer_at_least, one_of

SETTINGS = [
    *all_cnn_settings(),
    *training_settings(protocols.CLUTTERED),
    Setting("digits", "mnist", "the digits of the generated canvases: the full MNIST (downloaded) or the embedded "
            "sample", one_of("mnist", "sample")),
    Setting("plot_images", 5, "plot: how many test images get heatmaps", integer_at_least(1)),
    PLOTS_DIR,
    BETAS.with_default([0.01, 0.05, 0.1, 0.5]),
    *PROBE_SETTINGS,
    # sweep: every β is trained once per seed; the figures give the mean and the seeds' spread.
    SEEDS,
]

Config = config_class("cluttered", SETTINGS, module=__name__, named_configs={"softplus": SOFTPLUS},
                      smallest_width=ALL_CNN_SMALLEST_WIDTH["cluttered"],
                      doc="Cluttered MNIST (generated from the full MNIST or the embedded sample) with All-CNN-96.")
