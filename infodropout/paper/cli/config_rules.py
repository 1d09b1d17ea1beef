"""The table of valid config values and the checks that tie keys together, shared by every script.

Plain Python: sacred hands the config to :func:`validate` before any command runs, and nothing here imports
sacred or TensorFlow, so that a wrong value is answered at once. What the networks accept (their dropouts,
activations, widths and shares of the filters) is the builders' own (:mod:`infodropout.models`), checked here by
their definitions before the run, so that the config and the network never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real

from infodropout.models import ACTIVATIONS, ALL_CNN_WIDTHS, CONV_DROPOUTS, FILTER_SHARES, check_filter_share
from infodropout.paper import protocols
from infodropout.paper.data.formats import SAMPLE_DIGITS


@dataclass(frozen=True)
class Rule:
    """One row of the table of valid config values."""

    description: str
    check: Callable[[object], bool]


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _integer(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def word_list(value) -> list | None:
    """A list of words from the config: a list, or the string sacred keeps for ``[a,b]`` typed
    without quotes on the command line. None if it is neither."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        return [word.strip(" '\"") for word in value[1:-1].split(",") if word.strip(" '\"")]
    return None


def one_of(*choices) -> Rule:
    return Rule("one of " + ", ".join(map(repr, choices)), lambda v: v in choices)


def words_of(*choices: str) -> Rule:
    """A non-empty list of ``choices`` (a sweep's methods or latents), typed as a list or as sacred's ``[a,b]``."""
    return Rule("a non-empty list of " + ", ".join(choices),
                lambda v: bool(word_list(v)) and all(word in choices for word in word_list(v)))


def integer_at_least(low: int) -> Rule:
    return Rule(f"an integer >= {low}", lambda v: _integer(v) and v >= low)


def number_in(low: float, high: float, low_open: bool, high_open: bool) -> Rule:
    text = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    return Rule(text, lambda v: _number(v) and (v > low if low_open else v >= low)
                and (v < high if high_open else v <= high))


# numpy's and TensorFlow's seeding takes at most 32 bits: a larger seed would pass here and fail mid-run.
MAX_SEED = 2**32 - 1
SEED = Rule(f"an integer in [0, {MAX_SEED}] (numpy's seeds are 32-bit)", lambda v: _integer(v) and 0 <= v <= MAX_SEED)

# Every folder key (datasets_dir, models_dir, each script's plots_dir).
FOLDER = Rule("a folder path", lambda v: isinstance(v, str) and v != "")

POSITIVE = number_in(0, float("inf"), True, True)
NON_NEGATIVE = number_in(0, float("inf"), False, True)
PROBABILITY = number_in(0, 1, True, False)

# The rules shared by the classification scripts; each script adds its own keys.
COMMON_RULES: dict[str, Rule] = {
    "beta": NON_NEGATIVE,
    # α = 0.001 + max_alpha·sigmoid(g) is the log-normal noise's standard deviation: the paper's 0.7 (CIFAR)
    # gives a largest variance of the multiplicative noise near binary dropout's at p = 0.5, the cluttered
    # code's 1.0 a little more; beyond 1, E[ε] = exp(α²/2) and its variance grow so fast that the layer stops
    # being a dropout: values up to 3 are for the ablation that shows it (§8, claim 8a), none beyond.
    "max_alpha": Rule("a number in (0, 3] (the bound on α, the noise's log-standard deviation: 0.7 for CIFAR "
                      "and 1.0 for Cluttered MNIST in the paper's code; above 1 only to show why it is capped)",
                      lambda v: _number(v) and 0 < v <= 3),
    "weight_decay": NON_NEGATIVE,
    "learning_rate": POSITIVE,
    "lr_drops": Rule("a list of epochs (integers >= 1) in strictly increasing order",
                     lambda v: isinstance(v, (list, tuple)) and all(_integer(e) and e >= 1 for e in v)
                     and all(a < b for a, b in zip(v, v[1:]))),
    "epochs": integer_at_least(1),
    "batch_size": integer_at_least(1),
    "keep_prob": PROBABILITY,
    "num_train": Rule("an integer >= 0 (0: the whole training set)", lambda v: _integer(v) and v >= 0),
    "num_test": Rule("an integer >= 0 (0: the whole test set)", lambda v: _integer(v) and v >= 0),
    "seed": SEED,
    "seeds": Rule(f"a non-empty list of distinct integers in [0, {MAX_SEED}]",
                  lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(SEED.check(s) for s in v)
                  and len(set(v)) == len(v)),
    # The rules say which values a key takes; what it means is its description (DESCRIPTIONS), which
    # print_config shows before the rule, so neither repeats the other.
    "jobs": Rule("an integer >= 0 (1: one after another, each in a process of its own; 0: one per core)",
                 lambda v: _integer(v) and v >= 0),
    "threads": Rule("an integer >= 0 (0: one per core)", lambda v: _integer(v) and v >= 0),
    "verbose": one_of("auto", 0, 1, 2),
    "tensorboard": one_of(True, False),
    "restart": one_of(True, False),
    "betas": Rule("a non-empty list of numbers >= 0",
                  lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(_number(b) and b >= 0 for b in v)),
    "fused": one_of(True, False),
    "jit_compile": one_of(True, False),
    "strategy": one_of("default", "mirrored", "multi_worker"),
    "devices": Rule("an integer >= 0 (0: every GPU; n > 1 on a host without GPUs: the CPU split in n)",
                    lambda v: _integer(v) and v >= 0),
    "precision": one_of("float32", "mixed_float16", "mixed_bfloat16"),
    "datasets_dir": FOLDER,
    "models_dir": FOLDER,
}


def training_defaults(*, batch_size: int, learning_rate: float, lr_drops: list[int], epochs: int, beta: float,
                      weight_decay: float, max_alpha: float, keep_prob: float = 0.5) -> dict:
    """The config entries every classification script has: its protocol (a row of SPEC §5, from
    :mod:`infodropout.paper.protocols`), and the subset, seed, output and location entries, which are the same
    everywhere."""
    return dict(
        beta=beta, max_alpha=max_alpha, keep_prob=keep_prob, weight_decay=weight_decay,
        batch_size=batch_size, learning_rate=learning_rate, lr_drops=list(lr_drops), epochs=epochs,
        num_train=0, num_test=0, seed=0, restart=False, fused=True, jit_compile=False, strategy="default",
        devices=0, precision="float32", verbose="auto", jobs=1, threads=0,
        tensorboard=False, datasets_dir="datasets", models_dir="models",
    )


# The entries of the All-CNN scripts (cifar, cluttered, occluded), besides the common ones.
ALL_CNN_RULES: dict[str, Rule] = {
    "dropout": one_of(*CONV_DROPOUTS),
    "activations": one_of(*ACTIVATIONS),
    "prior": one_of("log_uniform", "log_normal"),
    # The share's range; whether it leaves the script's network a filter in each layer is checked with the
    # network's widths (validate_together).
    "filter_percentage": Rule(FILTER_SHARES, lambda v: _accepted(check_filter_share, v)),
}
# The rules of the lists a sweep over All-CNN's dropouts and shares loops over (cifar.py's methods and
# filter_percentages), from the builders' own choices and check.
ALL_CNN_METHODS = words_of(*CONV_DROPOUTS)
FILTER_SHARE_LIST = Rule("a non-empty list, each " + FILTER_SHARES, lambda v: isinstance(v, (list, tuple))
                         and len(v) > 0 and all(_accepted(check_filter_share, share) for share in v))


def _accepted(check: Callable[[object], None], value) -> bool:
    """Whether ``check`` (one that raises ValueError) takes ``value``."""
    try:
        check(value)
    except ValueError:
        return False
    return True


# Named config of the All-CNN scripts: Softplus activations with the log-normal prior (Prop. 3).
SOFTPLUS = {"activations": "softplus", "prior": "log_normal"}


def all_cnn_defaults(**protocol) -> dict:
    """The config of an All-CNN script: the network's entries, then :func:`training_defaults` of ``protocol``."""
    return dict(dropout="information", activations="relu", prior="log_uniform", filter_percentage=1.0,
                **training_defaults(**protocol))


# CIFAR-10's row of SPEC §5 (cifar.py, occluded.py), with the input dropout of the original code.
CIFAR_DEFAULTS = dict(**all_cnn_defaults(**protocols.CIFAR), input_keep_prob=0.8)


CIFAR_RULES = {**COMMON_RULES, **ALL_CNN_RULES, "input_keep_prob": PROBABILITY}


# The entries of the MNIST scripts (mnist_fc, vae) that choose their data.
MNIST_RULES: dict[str, Rule] = {
    "dataset": one_of("mnist", "sample"),
    "sample_test": Rule(f"an integer in [1, {SAMPLE_DIGITS - 1}]", lambda v: _integer(v) and 1 <= v < SAMPLE_DIGITS),
}
# Training images held out to choose on (mnist_fc's learning rate, the VAE's early stop).
HELD_OUT = Rule("an integer >= 0 (0: none)", lambda v: _integer(v) and v >= 0)


def validate(config: Mapping, rules: Mapping[str, Rule], defaults: Mapping | None = None,
             smallest_width: int | None = None) -> list[str]:
    """Raise ``ValueError`` naming the first config key whose value breaks its rule, then check the
    rules that tie two keys together (:func:`validate_together`); returns its warnings."""
    for key, rule in rules.items():
        if key in config and not rule.check(config[key]):
            raise ValueError(f"invalid config value {key}={_shown(config[key])}: must be {rule.description}.")
    return validate_together(config, defaults or {}, smallest_width)


def _shown(value, limit: int = 60) -> str:
    """``repr(value)``, its middle left out past ``limit`` characters (a 400-digit seed stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


# The network each All-CNN script builds, and the narrowest of its layers (infodropout.models' table), which
# decides whether a share leaves every layer at least one filter.
ALL_CNN_NETWORKS = {"cifar": "all_cnn_32", "occluded": "all_cnn_32", "cluttered": "all_cnn_96"}
ALL_CNN_SMALLEST_WIDTH = {script: min(ALL_CNN_WIDTHS[network]) for script, network in ALL_CNN_NETWORKS.items()}


# The lists that sweeps loop over, one run (or one table row) per value.
SWEPT_LISTS = ("betas", "seeds", "widths", "ks", "latents", "methods", "filter_percentages", "learning_rates")


def validate_together(config: Mapping, defaults: Mapping, smallest_width: int | None = None) -> list[str]:
    """The checks that involve more than one key or the defaults, done before anything starts so that
    they do not surface later as a raw traceback.

    - ``filter_percentage`` (and each of ``filter_percentages``) must leave each layer at least one filter,
      ``int(smallest_width · share) >= 1``, as the network builder would otherwise refuse mid-run.
    - ``lr_drops`` typed on the command line (differing from the default) with a drop at or after
      ``epochs``: that drop never happens, which is returned as a warning, not refused, since shortening
      a typed command with ``epochs=1`` is a common, deliberate test. The default schedule reaching past
      a shortened run is not even warned about: the user never typed it.

    - Each list a sweep loops over (:data:`SWEPT_LISTS`) holds each value once: a repeated value would train
      or list the same run twice.
    - With ``num_train`` given, ``validation`` must leave training images. A ``batch_size`` above the training
      images left is warned about, not refused: each epoch is then one batch of the whole set, which the
      quickest test runs (and the tiny plan) use on purpose, but a user who did not mean it should know.

    Returns the warnings, one line each.
    """
    warnings = []
    for key in SWEPT_LISTS:
        values = word_list(config.get(key))
        if values:
            repeated = [value for index, value in enumerate(values) if value in values[:index]]
            if repeated:
                raise ValueError(f"invalid config value {key}={config[key]!r}: {repeated[0]!r} appears more than "
                                 "once; a sweep runs each value once, so list it once.")
    num_train, validation, batch_size = config.get("num_train"), config.get("validation", 0), config.get("batch_size")
    if _integer(num_train) and num_train > 0 and _integer(validation) and _integer(batch_size):
        if validation >= num_train:
            raise ValueError(f"invalid config value validation={validation}: leaves no training images of the "
                             f"num_train={num_train}; use validation below num_train.")
        left = num_train - validation
        if batch_size > left:
            warnings.append(f"batch_size={batch_size} is larger than the {left} training images (num_train={num_train}"
                            + (f" less validation={validation}" if validation else "")
                            + f"): each epoch is one batch of {left}.")
    if smallest_width:
        for key in ("filter_percentage", "filter_percentages"):
            shares = config.get(key)
            for share in shares if isinstance(shares, (list, tuple)) else [shares]:
                if _number(share):
                    try:
                        check_filter_share(share, (smallest_width,))
                    except ValueError as error:
                        raise ValueError(f"invalid config value {key}={shares!r}: {error}") from None
    drops, epochs = config.get("lr_drops"), config.get("epochs")
    late = [d for d in drops if _integer(d) and _integer(epochs) and d >= epochs] \
        if isinstance(drops, (list, tuple)) and "lr_drops" in defaults and drops != defaults["lr_drops"] else []
    if late:
        warnings.append(f"lr_drops={list(drops)!r}: the drops at epochs {late} never happen with epochs={epochs} "
                        "(a drop must be below epochs).")
    return warnings


# What each config key means, shown by `print_config` beside its value and its valid values (the rules above).
# A key whose meaning depends on the script has an entry under (script, key) besides or instead of its own.
DESCRIPTIONS: dict = {
    "beta": "β, the weight of the KL (information) term in the loss",
    "max_alpha": "the largest noise scale α a dropout unit may reach",
    "keep_prob": "binary dropout's probability of keeping a unit (dropout=binary)",
    "input_keep_prob": "binary dropout's keep probability on the input image (All-CNN-32)",
    "weight_decay": "L2 weight decay",
    "batch_size": "images per training batch",
    "learning_rate": "the initial learning rate",
    "lr_drops": "the epochs at which the learning rate is multiplied by 0.1",
    "epochs": "training epochs (the schedule's length)",
    "num_train": "training images used (the first ones)",
    "num_test": "test images used (the first ones)",
    "seed": "the random seed (initialisation, noise, batch order)",
    "seeds": "sweeps: the seeds each point is trained with",
    "verbose": "Keras's progress output: 0 (none), 1 (bar), 2 (one line per epoch); auto: the bar on a terminal, "
               "one line per epoch where the output goes to a file or a pipe",
    "tensorboard": "also write TensorBoard logs beside the checkpoint",
    "restart": "train from scratch even where a stopped or completed run of the same name exists",
    "fused": "the faster fused dropout layer (the same mathematics)",
    "jit_compile": "compile the training step with XLA",
    "strategy": "tf.distribute strategy for training on several devices",
    "devices": "devices for the strategy",
    "precision": "the dtype policy of the layers",
    "datasets_dir": "where the data sets are kept",
    "models_dir": "where trained runs are kept (<run name>.keras, its history and .run.json)",
    "plots_dir": "where figures and sweep results are written",
    "dropout": "the kind of dropout layer",
    "activations": "the activation of the convolutional layers",
    "prior": "the prior of the Information Dropout noise (log-uniform for ReLU, log-normal for Softplus)",
    "filter_percentage": "the share of All-CNN's filters kept in every layer (1.0: the full network)",
    "dataset": "the data set",
    "sample_test": "dataset=sample: how many of the embedded 10,000 digits (the last ones) are the test set",
    "sweep_over": "sweep: the key swept, beta (figure 5) or filter_percentage (figures 3b and 6)",
    "betas": "sweeps: the values of β, one run each",
    "filter_percentages": "sweep_over=filter_percentage: the shares of the filters, one run each per method",
    "methods": "sweeps: the kinds of dropout compared",
    "estimator_epochs": "probe: training epochs of the probes and mutual-information critics",
    "min_critic_steps": "probe: the fewest optimiser steps of each mutual-information critic, whatever "
                        "estimator_epochs gives (fewer than 500 only to test the pipeline)",
    "digits": "where the digits come from",
    "plot_images": "plot: how many test images get heatmaps",
    "probe_epochs": "nuisance: training epochs of the nuisance probe",
    "width": "hidden units in each of the 3 layers",
    "widths": "compare/sweep: the widths, one run each per method and seed",
    "nesterov": "Nesterov momentum",
    "validation": "training images held out (the last ones; never test images)",
    "learning_rates": "choose_lr: the learning rates tried",
    "latent": "the latent layer: Gaussian or Information Dropout",
    "k": "the latent's size factor k of Table I",
    "optimizer": "the optimizer",
    "test_samples": "draws of z per test image for the bound",
    "ks": "table: the values of k, one run each per latent",
    "latents": "table: the latents compared",
    "patience": "validation=N: epochs without improvement before training stops",
    "binarize": "vae: binarise the training digits once (fixed) or afresh each epoch (epoch)",
    "jobs": "sweeps: how many runs train at once, each in its own process with the cores divided among them",
    "threads": "the threads each of TensorFlow's ops uses (a sweep with jobs=N gives each run the cores / N); the "
               "same seed and threads give the same numbers to the last bit",
    ("cluttered", "digits"): "the digits of the generated canvases: the full MNIST (downloaded) or the embedded sample",
    ("occluded", "digits"): "the occluding digits (dataset=fashion): the full MNIST, the embedded sample, or auto",
    ("vae", "prior"): "the Information latent's prior (latent=information)",
    ("vae", "validation"): "training images held out for early stopping on their bound (the last ones)",
    ("vae", "beta"): "β, the weight of the KL term of the bound",
    ("mnist_fc", "width"): "hidden units in each of the 3 layers",
}
