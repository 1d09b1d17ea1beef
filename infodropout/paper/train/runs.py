"""What the experiments' commands do with a run: build its network, load its data, train and test it, load its
checkpoint. Plain functions of the config (an experiment's typed config, or any mapping of its keys); sacred is not
imported here (:mod:`infodropout.paper.cli.experiment` turns its command line into a config and calls these)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from infodropout.paper.train import registry
from infodropout.paper.errors import DataError, fail
from infodropout.paper.machine import gpu_visible
from infodropout.paper.data.formats import Dataset
from infodropout.paper.train.run_names import checkpoint_path, run_name

if TYPE_CHECKING:
    import keras

    from infodropout.paper.train.trainer import TrainSettings


def all_cnn_32_network(config: Mapping, n_train: int) -> "keras.Model":
    """All-CNN-32 from a CIFAR-like config (input dropout included)."""
    from infodropout.models import all_cnn_32

    return all_cnn_network(all_cnn_32, config, n_train, input_keep_prob=config["input_keep_prob"])


def all_cnn_network(builder: Callable[..., "keras.Model"], config: Mapping, n_train: int, **extra) -> "keras.Model":
    """An All-CNN from the config's entries, its KL weighted by β / ``n_train``; ``extra`` goes to the builder."""
    return builder(config["filter_percentage"], dropout=config["dropout"], activation=config["activations"],
                   prior=config["prior"], max_alpha=config["max_alpha"], kl_weight=config["beta"] / n_train,
                   keep_prob=config["keep_prob"], fused=config["fused"], **extra)


def load_mnist_data(config: Mapping) -> Dataset:
    """The full MNIST (``dataset=mnist``, downloaded on first use), Fashion-MNIST in MNIST's form
    (``dataset=fashion``: 28×28 in [0, 1], downloaded on first use; scripts that accept it say so in
    their rules) or the embedded sample with its last ``sample_test`` digits as the test set, cut to
    ``num_train`` / ``num_test``."""
    from infodropout.paper.data.fashion import load_fashion_mnist
    from infodropout.paper.data.loaders import load_mnist
    from infodropout.paper.data.formats import load_mnist_sample, subset

    if config["dataset"] == "fashion":
        data = load_fashion_mnist(config["datasets_dir"])
    elif config["dataset"] == "mnist":
        data = load_mnist(config["datasets_dir"])
    else:
        data = load_mnist_sample(num_test=config["sample_test"])
    return subset(data, config["num_train"], config["num_test"])


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table, which reads well both in a terminal and pasted into a report."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def train_settings(config: Mapping) -> "TrainSettings":
    """The optimisation entries of a script's config as :class:`TrainSettings`."""
    # Imported here so that print_config and invalid values answer without loading TensorFlow.
    from infodropout.paper.train.trainer import TrainSettings

    return TrainSettings(
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        learning_rate=float(config["learning_rate"]),  # `learning_rate=1` is valid; Keras wants a float
        lr_drops=tuple(config["lr_drops"]),
        nesterov=config.get("nesterov", True),
        weight_decay=config["weight_decay"],
        seed=config["seed"],
        optimizer=config.get("optimizer", "sgd"),
        jit_compile=config["jit_compile"],
        strategy=config.get("strategy", "default"),
        devices=config.get("devices", 0),
        precision=config.get("precision", "float32"),
    )


def load_checkpoint(experiment: str, config: Mapping, defaults: Mapping,
                    load_data: Callable[[Mapping], Dataset]) -> tuple["keras.Model", Dataset]:
    """The network of the run the config names (the experiment's config hook has already chosen it from the
    keys the user gave: :func:`infodropout.paper.train.registry.resolve`) as the test protocol reads it, with its data:
    batch norm recalibrated on the training inputs (:func:`infodropout.paper.train.evaluation.recalibrate_batch_norm`);
    a checkpoint's own moving statistics are those of the noisy training activations, which the test never sees.
    A missing or unreadable checkpoint ends the program with a one-line message, before the data is read."""
    path = checkpoint_path(config["models_dir"], run_name(experiment, config, defaults))
    if not path.exists():  # before TensorFlow is loaded, so that the answer comes at once
        fail(no_checkpoint_message(path), status=1)
    import_tensorflow_quietly()
    from infodropout.paper.train.checkpoint import CheckpointError
    from infodropout.paper.train.evaluation import load_network, recalibrate_batch_norm

    try:
        network = load_network(path)
    except (FileNotFoundError, CheckpointError) as error:
        fail(str(error), status=1)
    data = checked_load(load_data, config)
    recalibrate_batch_norm(network, data.x_train, config["batch_size"])
    return network, data


def checked_load(load_data: Callable[[Mapping], Dataset], config: Mapping) -> Dataset:
    """``load_data(config)``, with a missing or malformed data file ending the program in one line."""
    try:
        data = load_data(config)
    except DataError as error:
        fail(str(error) + offline_hint(config, str(error)), status=1)
    # The data are there: TensorFlow comes next, and a missing file has been said without waiting for it.
    import_tensorflow_quietly()
    return data


def import_tensorflow_quietly() -> None:
    """Import TensorFlow, where it is not yet imported, with the C++ lines it writes on a machine without a GPU
    ("Could not find cuda drivers", which its log level does not reach) sent to /dev/null; on a GPU, or with
    ``INFODROPOUT_TF_VERBOSE`` set, as it is. A command calls it once it has checked what it can without TensorFlow
    (its values, its checkpoint, its data files), where TensorFlow would first be imported: reading the data, seeding
    the run, loading a network."""
    if "tensorflow" in sys.modules or gpu_visible() or os.environ.get("INFODROPOUT_TF_VERBOSE"):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        import tensorflow  # noqa: F401
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


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
    checkpoint = checkpoint_path(config["models_dir"], run_name(experiment, config, defaults))
    # First: a resume under other numerics or a missing data file fails before TensorFlow is imported.
    registry.check_resume(checkpoint, config, restart=config["restart"])
    data = checked_load(load_data, config)
    from infodropout.paper.train.evaluation import test_classifier, training_error
    from infodropout.paper.train.trainer import train_classifier

    settings = train_settings(config)
    strategy = seed_run(settings)
    with strategy.scope():  # the network, trainer and optimizer are made under the run's strategy
        network = build_network(config, len(data.x_train))
        print(f"Run {checkpoint.stem}: {len(data.x_train)} training and {len(data.x_test)} test examples, "
              f"{network.count_params():,} parameters" + _distribution_note(settings, strategy) + ".")
        before = _modified(checkpoint)
        registry.record_training(checkpoint, experiment, config, defaults, restart=config["restart"])
        with training_failures():
            train_classifier(network, data.x_train, data.y_train, settings, checkpoint, log_scalar=log_scalar,
                             **fit_options(config, checkpoint))
        registry.record_trained(checkpoint)
        # "Saved" only if this run wrote the file; a completed run only loads it (and says so itself).
        saved = f"Saved {checkpoint}. " if _modified(checkpoint) != before else ""
        print(f"{saved}Testing (batch-norm dry run, then noise off)...")
        metrics = test_classifier(network, data.x_train, data.x_test, data.y_test, settings,
                                  verbose=progress_verbosity(config["verbose"]))
        train_error = training_error(network, data.x_train, data.y_train, settings)
    registry.record_test(checkpoint, metrics)
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
    import_tensorflow_quietly()
    import keras
    import tensorflow as tf

    from infodropout.paper.train.distribution import make_strategy, set_precision

    try:
        strategy = make_strategy(settings.strategy, settings.devices)
    except (ValueError, RuntimeError) as error:
        fail(f"strategy={settings.strategy} devices={settings.devices}: {error}", status=1)
    keras.utils.set_random_seed(settings.seed)
    if not settings.jit_compile:
        tf.config.experimental.enable_op_determinism()
    set_precision(settings.precision)
    return strategy


def progress_verbosity(verbose: int | str, stream: TextIO | None = None) -> int | str:
    """``verbose`` as Keras takes it, with ``"auto"`` made one line an epoch (2) where ``stream`` (stdout) is not a
    terminal: Keras's progress bar redraws itself with escape codes, which a log file keeps as they are.
    Under an observer (``-F DIR``) sacred pipes stdout to its capture, so the stored output gets the lines too."""
    if verbose != "auto":
        return verbose
    stream = sys.stdout if stream is None else stream
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        terminal = False
    return 1 if terminal else 2


def fit_options(config: Mapping, checkpoint: Path) -> dict:
    """The keyword arguments of ``fit_trainer`` that come from the common config entries."""
    return dict(verbose=progress_verbosity(config["verbose"]), restart=config["restart"],
                tensorboard_dir=checkpoint.with_suffix(".tensorboard") if config["tensorboard"] else None)


@contextlib.contextmanager
def training_failures() -> Iterator[None]:
    """Turn the ways training can stop early into one line and an exit status (130 for a signal)."""
    from infodropout.paper.train.checkpoint import CheckpointError, RunLocked
    from infodropout.paper.train.trainer import TrainingInterrupted, TrainingStopped

    try:
        yield
    except TrainingInterrupted as error:
        fail(str(error), status=130)
    except (TrainingStopped, CheckpointError, RunLocked) as error:
        fail(str(error), status=1)


def train_command(experiment: str, config: Mapping, defaults: Mapping, load_data: Callable[[Mapping], Dataset],
                  build_network: Callable[[Mapping, int], "keras.Model"],
                  log_scalar: Callable[..., None] | None = None) -> dict:
    """A classification experiment's ``train``: train with the config's values, save to models/<run name>.keras,
    then test; returns the test metrics (each also given to ``log_scalar`` as ``test.<key>``)."""
    return report_metrics(train_and_test(experiment, config, defaults, load_data, build_network, log_scalar).metrics,
                          log_scalar)


def test_command(experiment: str, config: Mapping, defaults: Mapping, load_data: Callable[[Mapping], Dataset],
                 log_scalar: Callable[..., None] | None = None) -> dict:
    """A classification experiment's ``test``: test the trained run the config names; returns its test metrics."""
    from infodropout.paper.train.evaluation import evaluate_classifier

    network, data = load_checkpoint(experiment, config, defaults, load_data)  # batch norm recalibrated
    metrics = evaluate_classifier(network, data.x_test, data.y_test, config["batch_size"],
                                  config["weight_decay"], verbose=progress_verbosity(config["verbose"]))
    registry.record_test(checkpoint_path(config["models_dir"], run_name(experiment, config, defaults)), metrics,
                         experiment, config, defaults)
    return report_metrics(metrics, log_scalar)


def report_metrics(metrics: Mapping[str, float], log_scalar: Callable[..., None] | None = None) -> dict:
    """Print the test metrics on one line and give each to ``log_scalar`` (sacred's, under an observer)."""
    for key, value in metrics.items():
        if log_scalar is not None:
            log_scalar(f"test.{key}", value)
    print("Test: " + "  ".join(f"{key} {value:.4f}" for key, value in metrics.items()))
    return dict(metrics)


def no_checkpoint_message(path: Path) -> str:
    return f"no checkpoint at {path}: train it first with the same `with` values (`train with ...`)."
