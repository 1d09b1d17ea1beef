"""The config of MNIST with the fully connected network (paper §8, figure 3a): the paper's schedule with this
project's β, batch size and weight decay (:data:`infodropout.paper.protocols.MNIST_FC`), the network's width and the
sweeps over widths, methods, seeds and learning rates."""

from __future__ import annotations

from infodropout.models import DENSE_DROPOUTS
from infodropout.paper import protocols
from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.configs.common import DATASET, PLOTS_DIR, SAMPLE_TEST, SEEDS, VALIDATION, training_settings
from infodropout.paper.configs.rules import Rule, integer_at_least, is_integer, is_number, one_of, words_of

SETTINGS = [
    Setting("dataset", "mnist", DATASET, one_of("mnist", "sample", "fashion")),
    SAMPLE_TEST,
    Setting("dropout", "information", "the kind of dropout layer", one_of(*DENSE_DROPOUTS)),
    Setting("width", 512, "hidden units in each of the 3 layers", integer_at_least(1)),
    Setting("nesterov", False, "Nesterov momentum", one_of(True, False)),
    Setting("widths", [64, 128, 256, 512, 1024], "compare/sweep: the widths, one run each per method and seed",
            Rule("a non-empty list of integers >= 1", lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                 and all(isinstance(w, int) and w >= 1 for w in v))),
    SEEDS.with_default([0, 1, 2]),
    PLOTS_DIR,
    Setting("methods", list(DENSE_DROPOUTS), "sweeps: the kinds of dropout compared", words_of(*DENSE_DROPOUTS)),
    VALIDATION,  # 0: none; N: the last N training images held out to choose on
    Setting("learning_rates", [0.07, 0.02, 0.01], "choose_lr: the learning rates tried",
            Rule("a non-empty list of numbers > 0", lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                 and all(is_number(r) and r > 0 for r in v))),
    *training_settings(protocols.MNIST_FC),
]

Config = config_class("mnist_fc", SETTINGS, module=__name__,
                      doc="MNIST (or the embedded sample, or Fashion-MNIST) with the 3-layer fully connected network.")
