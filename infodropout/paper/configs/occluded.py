"""The config of Occluded CIFAR with All-CNN-32 (paper §8, figure 4): the CIFAR-10 protocol
(:data:`infodropout.paper.protocols.CIFAR`), the occluders, the nuisance probe and the β sweep."""

from __future__ import annotations

from infodropout.paper import protocols
from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.configs.common import (
    BETAS, DATASET, INPUT_KEEP_PROB, PLOTS_DIR, PROBE_SETTINGS, SEEDS, SOFTPLUS, all_cnn_settings, training_settings,
)
from infodropout.paper.configs.rules import ALL_CNN_SMALLEST_WIDTH, integer_at_least, one_of

SETTINGS = [
    *all_cnn_settings(),
    *training_settings(protocols.CIFAR),
    INPUT_KEEP_PROB,
    Setting("probe_epochs", 20, "nuisance: training epochs of the nuisance probe", integer_at_least(1)),
    PLOTS_DIR,
    BETAS.with_default([0.1, 0.5, 1.0, 3.0, 10.0]),
    Setting("dataset", "cifar10", DATASET, one_of("cifar10", "fashion")),
    Setting("digits", "auto", "the occluding digits (dataset=fashion): the full MNIST, the embedded sample, or auto",
            one_of("auto", "mnist", "sample")),
    *PROBE_SETTINGS,
    # sweep: every β is trained once per seed; the figure gives the mean and the seeds' spread.
    SEEDS,
]

Config = config_class("occluded", SETTINGS, module=__name__, named_configs={"softplus": SOFTPLUS},
                      smallest_width=ALL_CNN_SMALLEST_WIDTH["occluded"],
                      doc="Occluded CIFAR (or Occluded Fashion-MNIST, dataset=fashion) with All-CNN-32.")
