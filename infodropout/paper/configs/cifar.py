"""The config of CIFAR-10 with All-CNN-32 (paper §8; figures 1, 3b, 5 and 6): the paper's CIFAR-10 protocol
(:data:`infodropout.paper.protocols.CIFAR`), its data set and its sweeps."""

from __future__ import annotations

from infodropout.models import CONV_DROPOUTS
from infodropout.paper import protocols
from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.configs.common import (
    BETAS, DATASET, INPUT_KEEP_PROB, PLOTS_DIR, PROBE_SETTINGS, SAMPLE_TEST, SEEDS, SOFTPLUS, all_cnn_settings,
    training_settings,
)
from infodropout.paper.configs.rules import ALL_CNN_SMALLEST_WIDTH, FILTER_SHARE_LIST, one_of, words_of

SETTINGS = [
    *all_cnn_settings(),
    *training_settings(protocols.CIFAR),
    INPUT_KEEP_PROB,
    Setting("dataset", "cifar10", DATASET, one_of("cifar10", "sample", "fashion")),
    SAMPLE_TEST,
    PLOTS_DIR,
    Setting("sweep_over", "beta", "sweep: the key swept, beta (figure 5) or filter_percentage (figures 3b and 6)",
            one_of("beta", "filter_percentage")),
    BETAS.with_default([0.5, 1.0, 2.0, 3.0, 5.0]),
    Setting("filter_percentages", [0.1, 0.25, 0.5, 1.0],
            "sweep_over=filter_percentage: the shares of the filters, one run each per method", FILTER_SHARE_LIST),
    Setting("methods", ["information", "binary", "none"], "sweeps: the kinds of dropout compared",
            words_of(*CONV_DROPOUTS)),
    *PROBE_SETTINGS,
    # sweep: every point is trained once per seed; tables and figures give the mean and the seeds' spread.
    SEEDS,
]

# softplus: Softplus activations with the log-normal prior, as for figures 3b and 5.
Config = config_class("cifar", SETTINGS, module=__name__, named_configs={"softplus": SOFTPLUS},
                      smallest_width=ALL_CNN_SMALLEST_WIDTH["cifar"],
                      doc="CIFAR-10 (or its stand-ins, dataset=sample or fashion) with All-CNN-32.")
