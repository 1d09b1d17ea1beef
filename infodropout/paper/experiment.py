"""The sacred glue the scripts share: experiment set-up, config validation and run naming.

This is the only module of the package that imports sacred; everything it hands on is plain values.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from infodropout.paper import preflight  # noqa: E402

# Before sacred is imported: a Python without the packages says in one line what to run instead.
preflight.require_packages()
# Quiet TensorFlow's C++ start-up lines before anything imports it.
preflight.quiet_tensorflow_environment()


def _interrupted_quietly(kind, value, traceback) -> None:
    """Ctrl-C that escapes every handler (during the imports of sacred and TensorFlow, before
    :func:`run_experiment` can catch it) ends the script as one caught inside does: one line and
    status 130. The ``finally`` clauses that remove temporary files have already run by then."""
    if not issubclass(kind, KeyboardInterrupt):
        _previous_excepthook(kind, value, traceback)
        return
    print(f"{Path(sys.argv[0]).name}: {INTERRUPTED}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(130)  # Python would otherwise re-raise SIGINT on itself (status -2), not exit with 130


INTERRUPTED = ("interrupted (Ctrl-C); nothing half-written was kept. Run the same command again to go on "
               "(a training run resumes after its last completed epoch).")
_previous_excepthook = sys.excepthook
sys.excepthook = _interrupted_quietly

from sacred import Experiment  # noqa: E402
from sacred.utils import apply_backspaces_and_linefeeds  # noqa: E402

from infodropout.paper.errors import DataError  # noqa: E402

from infodropout.paper.formats import Dataset  # noqa: E402

if TYPE_CHECKING:
    import keras

    from infodropout.paper.training import TrainSettings

# Config entries that never enter a run's name: where things go, how fast (the speed options leave
# the mathematics unchanged), how a trained run is tested, and the lists a multi-run command loops
# over (each run it starts is named by its own values).
NAME_EXCLUDED_KEYS = frozenset({"datasets_dir", "models_dir", "plots_dir", "verbose", "tensorboard", "restart",
                                "fused", "jit_compile", "strategy", "devices", "test_samples", "plot_images",
                                "probe_epochs", "widths", "methods", "seeds", "ks", "latents", "betas", "sweep_over",
                                "filter_percentages", "scale_betas", "estimator_epochs", "learning_rates"})


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


def integer_at_least(low: int) -> Rule:
    return Rule(f"an integer >= {low}", lambda v: _integer(v) and v >= low)


def number_in(low: float, high: float, low_open: bool, high_open: bool) -> Rule:
    text = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    return Rule(text, lambda v: _number(v) and (v > low if low_open else v >= low)
                and (v < high if high_open else v <= high))


POSITIVE = number_in(0, float("inf"), True, True)
NON_NEGATIVE = number_in(0, float("inf"), False, True)
PROBABILITY = number_in(0, 1, True, False)

# The rules shared by the classification scripts; each script adds its own keys.
COMMON_RULES: dict[str, Rule] = {
    "beta": NON_NEGATIVE,
    "max_alpha": POSITIVE,
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
    "seed": integer_at_least(0),
    "seeds": Rule("a non-empty list of distinct integers >= 0",
                  lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(_integer(s) and s >= 0 for s in v)
                  and len(set(v)) == len(v)),
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
    "datasets_dir": Rule("a folder path", lambda v: isinstance(v, str) and v != ""),
    "models_dir": Rule("a folder path", lambda v: isinstance(v, str) and v != ""),
}


def training_defaults(*, batch_size: int, learning_rate: float, lr_drops: list[int], epochs: int, beta: float,
                      weight_decay: float, max_alpha: float, keep_prob: float = 0.5) -> dict:
    """The config entries every classification script has: its protocol (a row of SPEC §5), given
    explicitly, and the subset, seed, output and location entries, which are the same everywhere."""
    return dict(
        beta=beta, max_alpha=max_alpha, keep_prob=keep_prob, weight_decay=weight_decay,
        batch_size=batch_size, learning_rate=learning_rate, lr_drops=list(lr_drops), epochs=epochs,
        num_train=0, num_test=0, seed=0, restart=False, fused=True, jit_compile=False, strategy="default",
        devices=0, precision="float32", verbose="auto",
        tensorboard=False, datasets_dir="datasets", models_dir="models",
    )


# The entries of the All-CNN scripts (cifar, cluttered, occluded), besides the common ones.
ALL_CNN_RULES: dict[str, Rule] = {
    "dropout": one_of("information", "binary", "none"),
    "activations": one_of("relu", "softplus"),
    "prior": one_of("log_uniform", "log_normal"),
    "filter_percentage": number_in(0, 1, True, False),
}


# Named config of the All-CNN scripts: Softplus activations with the log-normal prior (Prop. 3).
SOFTPLUS = {"activations": "softplus", "prior": "log_normal"}


def all_cnn_defaults(**protocol) -> dict:
    """The config of an All-CNN script: the network's entries, then :func:`training_defaults` of ``protocol``."""
    return dict(dropout="information", activations="relu", prior="log_uniform", filter_percentage=1.0,
                **training_defaults(**protocol))


# CIFAR-10's row of SPEC §5 (cifar.py, occluded.py), with the input dropout of the original code.
CIFAR_DEFAULTS = dict(
    **all_cnn_defaults(batch_size=100, learning_rate=0.05, lr_drops=[80, 120, 160], epochs=200, beta=3.0,
                       weight_decay=0.001, max_alpha=0.7),
    input_keep_prob=0.8,
)


CIFAR_RULES = {**COMMON_RULES, **ALL_CNN_RULES, "input_keep_prob": PROBABILITY}


def all_cnn_32_network(config: Mapping, n_train: int) -> "keras.Model":
    """All-CNN-32 from a CIFAR-like config (input dropout included)."""
    from infodropout.models import all_cnn_32

    return all_cnn_network(all_cnn_32, config, n_train, input_keep_prob=config["input_keep_prob"])


def all_cnn_network(builder: Callable[..., "keras.Model"], config: Mapping, n_train: int, **extra) -> "keras.Model":
    """An All-CNN from the config's entries, its KL divided by ``n_train``; ``extra`` goes to the builder."""
    return builder(config["filter_percentage"], dropout=config["dropout"], activation=config["activations"],
                   prior=config["prior"], max_alpha=config["max_alpha"], kl_weight=1.0 / n_train,
                   keep_prob=config["keep_prob"], fused=config["fused"], **extra)


# The entries of the MNIST scripts (mnist_fc, vae) that choose their data.
MNIST_RULES: dict[str, Rule] = {
    "dataset": one_of("mnist", "sample"),
    "sample_test": Rule("an integer in [1, 9999]", lambda v: _integer(v) and 1 <= v <= 9999),
}


def load_mnist_data(config: Mapping) -> Dataset:
    """The full MNIST (``dataset=mnist``, downloaded on first use), Fashion-MNIST in MNIST's form
    (``dataset=fashion``: 28×28 in [0, 1], downloaded on first use; scripts that accept it say so in
    their rules) or the embedded sample with its last ``sample_test`` digits as the test set, cut to
    ``num_train`` / ``num_test``."""
    from infodropout.paper.data import load_fashion_mnist, load_mnist
    from infodropout.paper.formats import load_mnist_sample, subset

    if config["dataset"] == "fashion":
        data = load_fashion_mnist(config["datasets_dir"])
    elif config["dataset"] == "mnist":
        data = load_mnist(config["datasets_dir"])
    else:
        data = load_mnist_sample(num_test=config["sample_test"])
    return subset(data, config["num_train"], config["num_test"])


def validate(config: Mapping, rules: Mapping[str, Rule], defaults: Mapping | None = None,
             smallest_width: int | None = None) -> list[str]:
    """Raise ``ValueError`` naming the first config key whose value breaks its rule, then check the
    rules that tie two keys together (:func:`validate_together`); returns its warnings."""
    for key, rule in rules.items():
        if key in config and not rule.check(config[key]):
            raise ValueError(f"invalid config value {key}={config[key]!r}: must be {rule.description}.")
    return validate_together(config, defaults or {}, smallest_width)


# The widths that Table II scales by filter_percentage: All-CNN-32's 96 and 192, All-CNN-96's 32 to 192.
# The smallest decides whether a share leaves every layer at least one filter.
ALL_CNN_SMALLEST_WIDTH = {"cifar": 96, "occluded": 96, "cluttered": 32}


def validate_together(config: Mapping, defaults: Mapping, smallest_width: int | None = None) -> list[str]:
    """The checks that involve more than one key or the defaults, done before anything starts so that
    they do not surface later as a raw traceback.

    - ``filter_percentage`` (and each of ``filter_percentages``) must leave each layer at least one filter,
      ``int(smallest_width · share) >= 1``, as the network builder would otherwise refuse mid-run.
    - ``lr_drops`` typed on the command line (differing from the default) with a drop at or after
      ``epochs``: that drop never happens, which is returned as a warning, not refused, since shortening
      a typed command with ``epochs=1`` is a common, deliberate test. The default schedule reaching past
      a shortened run is not even warned about: the user never typed it.

    Returns the warnings, one line each.
    """
    if smallest_width:
        for key in ("filter_percentage", "filter_percentages"):
            shares = config.get(key)
            for share in shares if isinstance(shares, (list, tuple)) else [shares]:
                if _number(share) and int(smallest_width * share) < 1:
                    raise ValueError(f"invalid config value {key}={shares!r}: {share} leaves the narrowest layer "
                                     f"({smallest_width} filters) no filter; use at least {1 / smallest_width:.4g}.")
    drops, epochs = config.get("lr_drops"), config.get("epochs")
    late = [d for d in drops if _integer(d) and _integer(epochs) and d >= epochs] \
        if isinstance(drops, (list, tuple)) and "lr_drops" in defaults and drops != defaults["lr_drops"] else []
    if late:
        return [f"lr_drops={list(drops)!r}: the drops at epochs {late} never happen with epochs={epochs} "
                "(a drop must be below epochs)."]
    return []


def run_name(experiment: str, config: Mapping, defaults: Mapping) -> str:
    """``experiment`` followed by ``.key=value`` for each entry that differs from its default
    (SPEC §8), in key order, so that `test with` the same values finds what `train with` wrote."""
    changed = [
        f".{key}={_name_value(config[key])}"
        for key in sorted(config)
        if key in defaults and key not in NAME_EXCLUDED_KEYS and config[key] != defaults[key]
    ]
    return shortened(experiment + "".join(changed))


# File systems allow 255 bytes a name; a run's files add up to 28 (".<name>.state.tmp.npz.XXXXXXXX.npz",
# an atomic write's temporary), so names are kept well below.
MAX_NAME_BYTES = 200


def shortened(name: str) -> str:
    """``name`` if it fits in :data:`MAX_NAME_BYTES`, else its beginning followed by ``.~`` and 16 hex
    digits of its SHA-256: stable (the same values always give the same name, so `test with` finds what
    `train with` wrote), and two names that share a long beginning still differ."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    head = name.encode()[:MAX_NAME_BYTES - len(digest) - 2].decode(errors="ignore")
    return f"{head}.~{digest}"


def _name_value(value) -> str:
    """A value as it is typed after `with`: lists without spaces, so that names need no quoting."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_name_value(item) for item in value) + "]"
    return str(value)


def make_experiment(name: str, defaults: Mapping, rules: Mapping[str, Rule],
                    named_configs: Mapping[str, Mapping] | None = None) -> Experiment:
    """A sacred Experiment with ``defaults`` as its config, ``named_configs`` (e.g. ``softplus``) and
    ``rules`` checked before any command.

    An invalid value ends the program at once with one line on stderr and exit status 2, and so does a
    command of :data:`CHECKPOINT_COMMANDS` whose trained network is missing, before TensorFlow is
    imported. ``--help`` shows the calling script's docstring under its own name. With an observer
    (``-F DIR``), each run attaches the files it wrote into the models and plots folders (its
    ``.keras``, history and figures) as artifacts.
    """
    import inspect

    from sacred.dependencies import Source

    # sacred takes the docstring, file and folder of the module that creates the Experiment (this one):
    # give it the script's, so that --help shows the script's docstring under the script's name.
    script_globals = inspect.stack()[1][0].f_globals
    script_file = Path(script_globals.get("__file__", f"{name}.py")).resolve()
    experiment = Experiment(name, save_git_info=False, base_dir=str(script_file.parent))
    experiment.doc = script_globals.get("__doc__") or ""
    if script_file.is_file():
        experiment.mainfile = Source.create(str(script_file), save_git_info=False)
        experiment.sources.add(experiment.mainfile)
    script = script_file.name
    experiment.get_usage = lambda program_name=None: Experiment.get_usage(
        experiment, program_name or os.path.join(experiment.base_dir, script))
    experiment.captured_out_filter = apply_backspaces_and_linefeeds
    experiment.logger = _quiet_logger(name)
    experiment.add_config(dict(defaults))
    for config_name, values in (named_configs or {}).items():
        experiment.add_named_config(config_name, dict(values))

    smallest_width = ALL_CNN_SMALLEST_WIDTH.get(name) if "filter_percentage" in rules else None

    @experiment.config_hook
    def _validate(config, command_name, logger):
        try:
            warnings = validate(config, rules, defaults, smallest_width)
        except ValueError as error:
            fail(str(error))
        for warning in warnings:
            print(f"{Path(sys.argv[0]).name}: warning: {warning}", file=sys.stderr)
        if command_name in CHECKPOINT_COMMANDS and "models_dir" in config:
            path = checkpoint_path(config["models_dir"], run_name(name, config, defaults))
            if not path.exists():
                fail(no_checkpoint_message(path), status=1)
        return {}

    started = {}

    @experiment.pre_run_hook
    def _remember_start():
        started["time"] = time.time()

    @experiment.post_run_hook
    def _attach_outputs(_config, _run):
        if _run.observers:
            outputs = dict(written_since(started.get("time", 0.0), [_config.get("models_dir"), _config.get("plots_dir")]))
            if "models_dir" in _config:  # the run's own network and history, also when reused rather than trained
                own = checkpoint_path(_config["models_dir"], run_name(name, _config, defaults))
                for path in (own, own.with_suffix(".history.jsonl")):
                    if path.is_file():
                        outputs.setdefault(path, path.name)
            for path, artifact in sorted(outputs.items()):
                _run.add_artifact(str(path), name=artifact)

    # What check_config_keys compares the command line with.
    experiment.valid_keys = frozenset(defaults)
    experiment.valid_named_configs = frozenset(named_configs or {})
    return experiment


def check_config_keys(experiment: Experiment, argv: list[str]) -> None:
    """End with one line and status 2 if an entry after ``with`` names no config key (or a word names
    no named config), suggesting the closest valid one, instead of sacred's three-line
    ``ConfigAddedError`` and status 1."""
    keys = getattr(experiment, "valid_keys", None)
    if keys is None or "with" not in argv:
        return
    named = getattr(experiment, "valid_named_configs", frozenset())
    for update in argv[argv.index("with") + 1:]:
        if update.startswith("-"):  # sacred's options follow the updates
            break
        if "=" in update:
            key, known, kind = update.split("=", 1)[0].split(".", 1)[0].strip(), keys, "config key"
        elif update.endswith((".json", ".yaml", ".yml", ".pickle")):  # a config file, sacred reads it
            continue
        else:
            key, known, kind = update.strip(), named, "named config"
        if key in known:
            continue
        close = difflib.get_close_matches(key, sorted(known | named if kind == "named config" else known), n=1)
        hint = f"did you mean {close[0]}?" if close else f"valid keys: {', '.join(sorted(known))}."
        fail(f"unknown {kind} {key!r} in `{update}`: {hint} (`print_config` lists every key.)")


# The commands that read a trained network: a missing one stops them before any work.
CHECKPOINT_COMMANDS = frozenset({"test", "correlation", "histograms", "plot", "nuisance", "samples", "probe"})


def no_checkpoint_message(path: Path) -> str:
    return f"no checkpoint at {path}: train it first with the same `with` values (`train with ...`)."


def written_since(start: float, folders) -> list[tuple[Path, str]]:
    """The files under ``folders`` (None entries skipped) modified since ``start``, hidden (temporary)
    files and TensorBoard logs left out, each with a flat artifact name (observers store artifacts in
    one folder): the file's name, after its subfolder's (``<sweep folder>__figure5.png``) if it has one."""
    found = {}
    for folder in folders:
        if not folder or not Path(folder).is_dir():
            continue
        for path in Path(folder).rglob("*"):
            relative = path.relative_to(folder).parts
            if (path.is_file() and path.stat().st_mtime >= start - 1 and not any(p.startswith(".") for p in relative)
                    and not any(p.endswith(".tensorboard") for p in relative)):
                found[path] = "__".join(relative)
    return sorted(found.items())


class _RedundantWarnings:
    """Drops two of sacred's warnings: "No observers have been added to this run" (a run without observers
    is the normal case; the README says how to add one, ``-F DIR``) and "Changed type of config entry"
    (``verbose=2`` over the default ``'auto'``: every value is checked against its rule instead)."""

    @staticmethod
    def filter(record) -> bool:
        message = record.getMessage()
        return not ("No observers have been added" in message or message.startswith("Changed type of config entry"))


def _quiet_logger(name: str):
    """sacred's console log (``INFO - message``) without its :class:`_RedundantWarnings`."""
    import logging

    logger = logging.getLogger(f"infodropout.{name}")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
        handler.addFilter(_RedundantWarnings())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def checkpoint_path(models_dir: str, name: str) -> Path:
    """Where the run ``name`` keeps its network (SPEC §8)."""
    return Path(models_dir) / f"{name}.keras"


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table, which reads well both in a terminal and pasted into the README."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def train_settings(config: Mapping) -> "TrainSettings":
    """The optimisation entries of a script's config as :class:`TrainSettings`."""
    # Imported here so that print_config and invalid values answer without loading TensorFlow.
    from infodropout.paper.training import TrainSettings

    return TrainSettings(
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        learning_rate=float(config["learning_rate"]),  # `learning_rate=1` is valid; Keras wants a float
        lr_drops=tuple(config["lr_drops"]),
        nesterov=config.get("nesterov", True),
        beta=config["beta"],
        weight_decay=config["weight_decay"],
        seed=config["seed"],
        optimizer=config.get("optimizer", "sgd"),
        jit_compile=config["jit_compile"],
        strategy=config.get("strategy", "default"),
        devices=config.get("devices", 0),
        precision=config.get("precision", "float32"),
    )


def load_checkpoint(experiment: str, config: Mapping, defaults: Mapping) -> "keras.Model":
    """The network that `train with` the same values saved; a missing one ends the program with a
    one-line message."""
    path = checkpoint_path(config["models_dir"], run_name(experiment, config, defaults))
    if not path.exists():  # before TensorFlow is imported, so that the answer comes at once
        fail(no_checkpoint_message(path), status=1)
    from infodropout.paper.training import load_network

    from infodropout.paper.checkpoint import CheckpointError

    try:
        return load_network(path)
    except (FileNotFoundError, CheckpointError) as error:
        fail(str(error), status=1)


def checked_load(load_data: Callable[[Mapping], Dataset], config: Mapping) -> Dataset:
    """``load_data(config)``, with a missing or malformed data file ending the program in one line."""
    try:
        return load_data(config)
    except DataError as error:
        fail(str(error) + offline_hint(config, str(error)), status=1)


def offline_hint(config: Mapping, message: str) -> str:
    """For a failed download, the config value that runs the same command on the embedded MNIST sample."""
    if "download" not in message:
        return ""
    for key in ("dataset", "digits"):
        if key in config and config[key] != "sample":
            return (f". To run without a download, add {key}=sample (the embedded MNIST sample; its numbers are "
                    "not the full data set's)")
    return ""


class TrainedRun(NamedTuple):
    """What :func:`train_and_test` leaves: the test metrics, the tested network and its data."""

    metrics: dict
    network: "keras.Model"
    data: Dataset
    train_error: float  # % on the first TRAIN_ERROR_IMAGES training images, by the test protocol


def train_and_test(
    experiment: str,
    config: Mapping,
    defaults: Mapping,
    load_data: Callable[[Mapping], Dataset],
    build_network: Callable[[Mapping, int], "keras.Model"],
    log_scalar: Callable[..., None] | None = None,
) -> TrainedRun:
    """Train one run with the config's values, save it to models/<run name>.keras, then test it.

    ``load_data(config)`` returns the (possibly reduced) data set; ``build_network(config, n_train)``
    the logits network whose KL is divided by ``n_train``. Returns the test metrics with the network,
    as tested (batch norm recalibrated), the data, for analyses that follow, and the training error
    (%) by the same protocol on the first 10,000 training images at most (to bound its cost).
    """
    data = checked_load(load_data, config)  # first: a missing data file fails before TensorFlow is imported
    from infodropout.paper.training import test_classifier, train_classifier, training_error

    settings = train_settings(config)
    strategy = seed_run(settings)
    checkpoint = checkpoint_path(config["models_dir"], run_name(experiment, config, defaults))
    with strategy.scope():  # the network, trainer and optimizer are made under the run's strategy
        network = build_network(config, len(data.x_train))
        print(f"Run {checkpoint.stem}: {len(data.x_train)} training and {len(data.x_test)} test examples, "
              f"{network.count_params():,} parameters" + _distribution_note(settings, strategy) + ".")
        before = _modified(checkpoint)
        with training_failures():
            train_classifier(network, data.x_train, data.y_train, settings, checkpoint, log_scalar=log_scalar,
                             **fit_options(config, checkpoint))
        # "Saved" only if this run wrote the file; a completed run only loads it (and says so itself).
        saved = f"Saved {checkpoint}. " if _modified(checkpoint) != before else ""
        print(f"{saved}Testing (batch-norm dry run, then noise off)...")
        metrics = test_classifier(network, data.x_train, data.x_test, data.y_test, settings,
                                  verbose=config["verbose"])
        train_error = training_error(network, data.x_train, data.y_train, settings)
    return TrainedRun(metrics, network, data, train_error)


def _modified(path: Path) -> tuple[int, int] | None:
    """The file's identity and modification time (None if absent): changes whenever it is rewritten."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _distribution_note(settings: "TrainSettings", strategy) -> str:
    parts = []
    if settings.strategy != "default":
        parts.append(f"{settings.strategy} over {strategy.num_replicas_in_sync} replicas")
    if settings.precision != "float32":
        parts.append(settings.precision)
    return f" ({', '.join(parts)})" if parts else ""


def seed_run(settings: "TrainSettings"):
    """Seed Python, NumPy and TensorFlow from the run's seed; without XLA also make TensorFlow's ops
    deterministic, so that the same seed gives the same run to the last bit on the same CPU (Keras
    refuses XLA under op determinism, so a jit_compile run gives up bit-exact repeatability).

    Also sets the run's dtype policy and returns its ``tf.distribute`` strategy, made first, since
    splitting the CPU into logical devices must come before TensorFlow starts."""
    import keras
    import tensorflow as tf

    from infodropout.paper.training import make_strategy, set_precision

    try:
        strategy = make_strategy(settings.strategy, settings.devices)
    except (ValueError, RuntimeError) as error:
        fail(f"strategy={settings.strategy} devices={settings.devices}: {error}", status=1)
    keras.utils.set_random_seed(settings.seed)
    if not settings.jit_compile:
        tf.config.experimental.enable_op_determinism()
    set_precision(settings.precision)
    return strategy


def fit_options(config: Mapping, checkpoint: Path) -> dict:
    """The keyword arguments of ``fit_trainer`` that come from the common config entries."""
    return dict(verbose=config["verbose"], restart=config["restart"],
                tensorboard_dir=checkpoint.with_suffix(".tensorboard") if config["tensorboard"] else None)


@contextlib.contextmanager
def training_failures() -> Iterator[None]:
    """Turn the ways training can stop early into one line and an exit status (130 for a signal)."""
    from infodropout.paper.checkpoint import CheckpointError, RunLocked
    from infodropout.paper.training import TrainingInterrupted, TrainingStopped

    try:
        yield
    except TrainingInterrupted as error:
        fail(str(error), status=130)
    except (TrainingStopped, CheckpointError, RunLocked) as error:
        fail(str(error), status=1)


def with_seeds(points: list[dict], seeds: Sequence[int]) -> list[dict]:
    """Each sweep point once per seed, seed by seed (every point of seed 0 first, so that an interrupted
    sweep already has one whole curve). Seed 0 is every script's default, so a point at seed 0 is the
    run a single-seed sweep trained: its name has no seed in it and it is reused."""
    return [{**point, "seed": seed} for seed in seeds for point in points]


def run_sweep(experiment: str, config: Mapping, defaults: Mapping, points: list[dict],
              run_one: Callable[[Mapping], dict]) -> tuple[list[dict], Path]:
    """Run ``run_one(config updated with point)`` for each point (e.g. ``{"beta": 0.1}``) and keep the
    results, one dict per point, in ``plots/<experiment>-sweep<values>/results.json``, rewritten after
    every point: an interrupted sweep loses nothing, and running it again skips the points already
    done (each run itself is also resumed or reused from models/). Returns the results and the folder."""
    import json

    from infodropout.paper.checkpoint import atomic_write

    swept = {key for point in points for key in point}
    name = run_name(f"{experiment}-sweep", {**config, **{key: defaults[key] for key in swept}}, defaults)
    folder = Path(config["plots_dir"]) / name
    path = folder / "results.json"
    results = read_sweep_results(path)
    for number, point in enumerate(points, 1):
        # A result that lacks a key (a sweep kept before the key was swept, e.g. "seed") had its default.
        if any(all(result.get(key, defaults.get(key)) == value for key, value in point.items())
               for result in results):
            continue
        values = " ".join(f"{key}={value}" for key, value in point.items())
        print(f"Sweep point {number}/{len(points)}: {values} ({len(results)} done).", flush=True)
        results.append({**point, **run_one({**config, **point})})
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(results, indent=1) + "\n"))
    return results, folder


def read_sweep_results(path: Path) -> list[dict]:
    """The results a sweep kept in ``path`` (empty if there is none); a file that is not a JSON list of
    records (truncated, edited) ends the program with one line saying how to recover."""
    import json

    if not path.exists():
        return []
    try:
        results = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        results = error
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        detail = f" ({results})" if isinstance(results, Exception) else ""
        fail(f"{path} is not a sweep's list of results{detail}: delete it and run the same command again (its "
             "trained runs are reused from the models folder, so only their testing is repeated).", status=1)
    return results


def add_classifier_commands(
    experiment: Experiment,
    defaults: Mapping,
    load_data: Callable[[Mapping], Dataset],
    build_network: Callable[[Mapping, int], "keras.Model"],
) -> None:
    """Register the ``train`` (then test; also the default command) and ``test`` commands that
    every classification script shares."""
    name = experiment.path

    def train(_config, _run):
        """Train with the config's values, save to models/<run name>.keras, then test."""
        return _report(train_and_test(name, _config, defaults, load_data, build_network, _run.log_scalar).metrics,
                       _run)

    def test(_config, _run):
        """Load models/<run name>.keras (trained `with` the same values) and test it."""
        from infodropout.paper.training import test_classifier

        network = load_checkpoint(name, _config, defaults)
        data = checked_load(load_data, _config)
        return _report(test_classifier(network, data.x_train, data.x_test, data.y_test,
                                       train_settings(_config), verbose=_config["verbose"]), _run)

    experiment.main(train)  # registers the command too
    experiment.command(test)


def _report(metrics: Mapping[str, float], run) -> dict:
    for key, value in metrics.items():
        run.log_scalar(f"test.{key}", value)
    print("Test: " + "  ".join(f"{key} {value:.4f}" for key, value in metrics.items()))
    return dict(metrics)


class CommandFailed(SystemExit):
    """Ends a command with a one-line message and an exit status (see :func:`run_experiment`)."""

    def __init__(self, message: str, status: int):
        super().__init__(status)
        self.message = message


def fail(message: str, status: int = 2) -> None:
    """End the command with one line on stderr, naming the cause and the fix, and exit ``status``."""
    raise CommandFailed(message, status)


def quote_word_lists(argv: list[str]) -> list[str]:
    """The command line with the bare words of list values quoted, ``methods=[information,binary]`` →
    ``methods=["information","binary"]``, so that sacred reads a list (not a string, with a warning that
    its type changed); numbers, booleans and quoted items are left as typed."""
    import ast
    import re

    def quoted(item: str) -> str:
        item = item.strip()
        try:
            ast.literal_eval(item)
            return item
        except (ValueError, SyntaxError):
            return '"' + item + '"' if re.fullmatch(r"[\w.+-]+", item) else item

    rewritten = []
    for arg in argv:
        match = re.fullmatch(r"([\w.]+)=\[(.*)\]", arg)
        if match and match.group(2).strip():
            arg = f"{match.group(1)}=[{','.join(quoted(item) for item in match.group(2).split(','))}]"
        rewritten.append(arg)
    return rewritten


def run_experiment(experiment: Experiment) -> None:
    """The scripts' entry point: sacred's command line, with :func:`fail`'s message printed last, after
    sacred's own log lines, and no traceback."""
    import warnings

    script = Path(sys.argv[0]).name
    warnings.formatwarning = lambda message, category, *args, **kwargs: \
        f"{script}: {category.__name__}: {message}\n"
    sys.argv[1:] = quote_word_lists(sys.argv[1:])
    preflight.install_quiet_tensorflow_import()
    try:
        check_config_keys(experiment, sys.argv)
        experiment.run_commandline()
    except CommandFailed as failure:
        print(f"{Path(sys.argv[0]).name}: {failure.message}", file=sys.stderr)
        sys.exit(failure.code)
    except KeyboardInterrupt:
        # Ctrl-C outside training (start-up, test, a download, data generation): the temporary files
        # were removed by the finally clauses the interrupt unwound through.
        print(f"{Path(sys.argv[0]).name}: {INTERRUPTED}", file=sys.stderr)
        sys.exit(130)
