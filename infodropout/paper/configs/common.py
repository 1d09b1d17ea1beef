"""The settings several experiments share, each with its description and its rule beside it; an experiment's
config (:mod:`infodropout.paper.configs.cifar` ...) takes these, gives some its own default or meaning, and adds
its own. The training protocol's defaults (β, the schedule) come from :mod:`infodropout.paper.protocols`.
"""

from __future__ import annotations

from collections.abc import Mapping

from infodropout.models import ACTIVATIONS, CONV_DROPOUTS, FILTER_SHARES, check_filter_share
from infodropout.paper.configs.base import Setting
from infodropout.paper.configs.rules import (
    FOLDER, HELD_OUT, MAX_SEED, NON_NEGATIVE, POSITIVE, PROBABILITY, SEED, Rule, accepted, integer_at_least, is_integer,
    is_number, one_of,
)
from infodropout.paper.data.formats import SAMPLE_DIGITS

# The fewest optimiser steps of every mutual-information critic (the estimators' own minimum), whatever
# estimator_epochs says; fewer only where a run tests the pipeline, not the estimates (the tiny plan).
MIN_CRITIC_STEPS = 500

# Named config of the All-CNN experiments: Softplus activations with the log-normal prior (Prop. 3).
SOFTPLUS = {"activations": "softplus", "prior": "log_normal"}


def training_settings(protocol: Mapping) -> list[Setting]:
    """The settings every classification experiment (and the VAE) has: its protocol (a row of
    :mod:`infodropout.paper.protocols`), then the subset, seed, computation, output and location settings, which are
    the same everywhere."""
    return [
        Setting("beta", protocol["beta"], "β, the weight of the KL (information) term in the loss", NON_NEGATIVE),
        # α = 0.001 + max_alpha·sigmoid(g) is the log-normal noise's standard deviation: the paper's 0.7 (CIFAR)
        # gives a largest variance of the multiplicative noise near binary dropout's at p = 0.5, the cluttered
        # code's 1.0 a little more; beyond 1, E[ε] = exp(α²/2) and its variance grow so fast that the layer stops
        # being a dropout: values up to 3 are for the ablation that shows it (§8, claim 8a), none beyond.
        Setting("max_alpha", protocol["max_alpha"], "the largest noise scale α a dropout unit may reach",
                Rule("a number in (0, 3] (the bound on α, the noise's log-standard deviation: 0.7 for CIFAR and 1.0 "
                     "for Cluttered MNIST in the paper's code; above 1 only to show why it is capped)",
                     lambda v: is_number(v) and 0 < v <= 3)),
        Setting("keep_prob", 0.5, "binary dropout's probability of keeping a unit (dropout=binary)", PROBABILITY),
        Setting("weight_decay", protocol["weight_decay"], "L2 weight decay", NON_NEGATIVE),
        Setting("batch_size", protocol["batch_size"], "images per training batch", integer_at_least(1)),
        Setting("learning_rate", protocol["learning_rate"], "the initial learning rate", POSITIVE),
        Setting("lr_drops", list(protocol["lr_drops"]), "the epochs at which the learning rate is multiplied by 0.1",
                Rule("a list of epochs (integers >= 1) in strictly increasing order",
                     lambda v: isinstance(v, (list, tuple)) and all(is_integer(e) and e >= 1 for e in v)
                     and all(a < b for a, b in zip(v, v[1:])))),
        Setting("epochs", protocol["epochs"], "training epochs (the schedule's length)", integer_at_least(1)),
        Setting("num_train", 0, "training images used (the first ones)",
                Rule("an integer >= 0 (0: the whole training set)", lambda v: is_integer(v) and v >= 0)),
        Setting("num_test", 0, "test images used (the first ones)",
                Rule("an integer >= 0 (0: the whole test set)", lambda v: is_integer(v) and v >= 0)),
        Setting("seed", 0, "the random seed (initialisation, noise, batch order)", SEED),
        Setting("restart", False, "train from scratch even where a stopped or completed run of the same name exists",
                one_of(True, False)),
        Setting("fused", True, "the faster fused dropout layer (the same mathematics)", one_of(True, False)),
        Setting("jit_compile", False, "compile the training step with XLA", one_of(True, False)),
        Setting("strategy", "default", "tf.distribute strategy for training on several devices",
                one_of("default", "mirrored", "multi_worker")),
        Setting("devices", 0, "devices for the strategy",
                Rule("an integer >= 0 (0: every GPU; n > 1 on a host without GPUs: the CPU split in n)",
                     lambda v: is_integer(v) and v >= 0)),
        Setting("precision", "float32", "the dtype policy of the layers",
                one_of("float32", "mixed_float16", "mixed_bfloat16")),
        Setting("verbose", "auto", "Keras's progress output: 0 (none), 1 (bar), 2 (one line per epoch); auto: the bar "
                "on a terminal, one line per epoch where the output goes to a file or a pipe", one_of("auto", 0, 1, 2)),
        # What a key means is its description, which print_config shows before the rule, so neither repeats the other.
        Setting("jobs", 1, "sweeps: how many runs train at once, each in its own process with the cores divided among "
                "them", Rule("an integer >= 0 (1: one after another, each in a process of its own; 0: one per core)",
                             lambda v: is_integer(v) and v >= 0)),
        Setting("threads", 0, "the threads each of TensorFlow's ops uses (a sweep with jobs=N gives each run the cores "
                "/ N); the same seed and threads give the same numbers to the last bit",
                Rule("an integer >= 0 (0: one per core)", lambda v: is_integer(v) and v >= 0)),
        Setting("tensorboard", False, "also write TensorBoard logs beside the checkpoint", one_of(True, False)),
        Setting("datasets_dir", "datasets", "where the data sets are kept", FOLDER),
        Setting("models_dir", "models", "where trained runs are kept (<run name>.keras, its history and .run.json)",
                FOLDER),
    ]


def all_cnn_settings() -> list[Setting]:
    """The All-CNN network's settings (cifar, cluttered, occluded), from the builders' own choices and check."""
    return [
        Setting("dropout", "information", "the kind of dropout layer", one_of(*CONV_DROPOUTS)),
        Setting("activations", "relu", "the activation of the convolutional layers", one_of(*ACTIVATIONS)),
        Setting("prior", "log_uniform", "the prior of the Information Dropout noise (log-uniform for ReLU, log-normal "
                "for Softplus)", one_of("log_uniform", "log_normal")),
        # The share's range; whether it leaves the network a filter in each layer is checked with the network's
        # widths (rules.validate_together).
        Setting("filter_percentage", 1.0, "the share of All-CNN's filters kept in every layer (1.0: the full network)",
                Rule(FILTER_SHARES, lambda v: accepted(check_filter_share, v))),
    ]


# CIFAR-10's input dropout of the original code (cifar, occluded).
INPUT_KEEP_PROB = Setting("input_keep_prob", 0.8, "binary dropout's keep probability on the input image (All-CNN-32)",
                          PROBABILITY)

PROBE_SETTINGS = [
    Setting("estimator_epochs", 20, "probe: training epochs of the probes and mutual-information critics",
            integer_at_least(1)),
    Setting("min_critic_steps", MIN_CRITIC_STEPS, "probe: the fewest optimiser steps of each mutual-information "
            "critic, whatever estimator_epochs gives (fewer than 500 only to test the pipeline)", integer_at_least(1)),
]

PLOTS_DIR = Setting("plots_dir", "plots", "where figures and sweep results are written", FOLDER)
SEEDS = Setting("seeds", [0], "sweeps: the seeds each point is trained with",
                Rule(f"a non-empty list of distinct integers in [0, {MAX_SEED}]",
                     lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(SEED.check(s) for s in v)
                     and len(set(v)) == len(v)))
BETAS = Setting("betas", [], "sweeps: the values of β, one run each",
                Rule("a non-empty list of numbers >= 0",
                     lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(is_number(b) and b >= 0 for b in v)))
# The MNIST experiments' data (mnist_fc, vae; cifar's dataset=sample too).
SAMPLE_TEST = Setting("sample_test", 2000, "dataset=sample: how many of the embedded 10,000 digits (the last ones) "
                      "are the test set", Rule(f"an integer in [1, {SAMPLE_DIGITS - 1}]",
                                               lambda v: is_integer(v) and 1 <= v < SAMPLE_DIGITS))
DATASET = "the data set"
# Training images held out to choose on (mnist_fc's learning rate, the VAE's early stop).
VALIDATION = Setting("validation", 0, "training images held out (the last ones; never test images)", HELD_OUT)
