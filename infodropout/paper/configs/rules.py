"""The rules of valid config values (each a description and a check) and the checks that tie keys together.

The experiments' configs (:mod:`infodropout.paper.configs.base`) give each field its rule and call
:func:`validate` once, when a config is made. Plain Python: nothing here imports sacred or TensorFlow, so that a
wrong value is answered at once. What the networks accept (their dropouts,
activations, widths and shares of the filters) is the builders' own (:mod:`infodropout.models`), checked here by
their definitions before the run, so that the config and the network never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real

from infodropout.models import ACTIVATIONS, ALL_CNN_WIDTHS, CONV_DROPOUTS, FILTER_SHARES, check_filter_share


@dataclass(frozen=True)
class Rule:
    """One row of the table of valid config values."""

    description: str
    check: Callable[[object], bool]


def is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def is_integer(value) -> bool:
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
    return Rule(f"an integer >= {low}", lambda v: is_integer(v) and v >= low)


def number_in(low: float, high: float, low_open: bool, high_open: bool) -> Rule:
    text = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    return Rule(text, lambda v: is_number(v) and (v > low if low_open else v >= low)
                and (v < high if high_open else v <= high))


# numpy's and TensorFlow's seeding takes at most 32 bits: a larger seed would pass here and fail mid-run.
MAX_SEED = 2**32 - 1
SEED = Rule(f"an integer in [0, {MAX_SEED}] (numpy's seeds are 32-bit)", lambda v: is_integer(v) and 0 <= v <= MAX_SEED)

# Every folder key (datasets_dir, models_dir, each script's plots_dir).
FOLDER = Rule("a folder path", lambda v: isinstance(v, str) and v != "")

POSITIVE = number_in(0, float("inf"), True, True)
NON_NEGATIVE = number_in(0, float("inf"), False, True)
PROBABILITY = number_in(0, 1, True, False)

# The rules of the lists a sweep over All-CNN's dropouts and shares loops over (cifar's methods and
# filter_percentages), from the builders' own choices and check.
ALL_CNN_METHODS = words_of(*CONV_DROPOUTS)
FILTER_SHARE_LIST = Rule("a non-empty list, each " + FILTER_SHARES, lambda v: isinstance(v, (list, tuple))
                         and len(v) > 0 and all(accepted(check_filter_share, share) for share in v))


def accepted(check: Callable[[object], None], value) -> bool:
    """Whether ``check`` (one that raises ValueError) takes ``value``."""
    try:
        check(value)
    except ValueError:
        return False
    return True


# Training images held out to choose on (mnist_fc's learning rate, the VAE's early stop).
HELD_OUT = Rule("an integer >= 0 (0: none)", lambda v: is_integer(v) and v >= 0)


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
    if is_integer(num_train) and num_train > 0 and is_integer(validation) and is_integer(batch_size):
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
                if is_number(share):
                    try:
                        check_filter_share(share, (smallest_width,))
                    except ValueError as error:
                        raise ValueError(f"invalid config value {key}={shares!r}: {error}") from None
    drops, epochs = config.get("lr_drops"), config.get("epochs")
    late = [d for d in drops if is_integer(d) and is_integer(epochs) and d >= epochs] \
        if isinstance(drops, (list, tuple)) and "lr_drops" in defaults and drops != defaults["lr_drops"] else []
    if late:
        warnings.append(f"lr_drops={list(drops)!r}: the drops at epochs {late} never happen with epochs={epochs} "
                        "(a drop must be below epochs).")
    return warnings
