"""Training and testing with the paper's objective, schedules and test protocol (SPEC §1, §5).

``loss = Lx + β·Lz + weight_decay·L2`` where Lx is the batch-mean cross-entropy, Lz the sum of the
model's KL losses (the Information Dropout layers add ``mean_batch(Σ_units KL) / N_train`` each) and
L2 = Σ_w ‖w‖²/2 over every trainable variable, as ``tf.nn.l2_loss`` in the original code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

import infodropout.vae  # noqa: F401  (registers the VAE's layer, and with it infodropout.layers, for load_network)
from infodropout.callbacks import AlphaMonitor
from infodropout.layers import noise_scale
from infodropout.paper.checkpoint import CheckpointError, TrainingState, atomic_write
from infodropout.paper.training_callbacks import (  # noqa: F401  (the exceptions are part of this module's interface)
    DivergenceGuard, EpochLine, EpochRecorder, StopOnRequest, TrainingDiverged, TrainingInterrupted, TrainingStopped,
    history_path,
)

@dataclass(frozen=True)
class TrainSettings:
    """The optimisation protocol of one experiment (a row of SPEC §5)."""

    batch_size: int = 100
    epochs: int = 200
    learning_rate: float = 0.05
    lr_drops: Sequence[int] = field(default=(80, 120, 160))
    lr_decay: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    beta: float = 3.0
    weight_decay: float = 0.001
    seed: int = 0
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adam"
    # XLA: off by default, as it made every network slower on CPU (README, Speed).
    jit_compile: bool = False


def piecewise_learning_rate(settings: TrainSettings, steps_per_epoch: int):
    """The learning rate multiplied by ``lr_decay`` at each epoch of ``lr_drops``."""
    drops = sorted(d for d in settings.lr_drops if 0 < d < settings.epochs)
    if not drops:
        return settings.learning_rate
    boundaries = [d * steps_per_epoch for d in drops]
    values = [settings.learning_rate * settings.lr_decay**k for k in range(len(drops) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


class Trainer(keras.Model):
    """Wraps a network with the paper's objective ``Lx + β·Lz + weight_decay·L2``; subclasses say what
    the task loss Lx is. Its metrics, averaged over an epoch, are ``metric_names``."""

    metric_names: tuple[str, ...] = ("loss", "Lx", "Lz")

    def __init__(self, network: keras.Model, beta: float, weight_decay: float, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.beta = float(beta)
        self.weight_decay = float(weight_decay)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def task_terms(self, targets, outputs) -> dict:
        """``Lx`` and any further per-batch metrics of the task."""
        raise NotImplementedError

    def _objective(self, targets, outputs) -> dict:
        terms = self.task_terms(targets, outputs)
        losses = self.network.losses
        terms["Lz"] = ops.sum(ops.stack(losses)) if losses else ops.zeros(())
        l2 = ops.sum(ops.stack([ops.sum(ops.square(w)) for w in self.network.trainable_variables])) / 2
        terms["loss"] = terms["Lx"] + self.beta * terms["Lz"] + self.weight_decay * l2
        return terms

    def _record(self, terms: dict, batch_size) -> dict:
        # Weighted by the batch's size, so that a last, smaller batch counts for what it holds.
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name], sample_weight=ops.cast(batch_size, "float32"))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        inputs, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            terms = self._objective(targets, self.network(inputs, training=True))
        variables = self.network.trainable_variables
        self.optimizer.apply(tape.gradient(terms["loss"], variables), variables)
        return self._record(terms, ops.shape(inputs)[0])

    def test_step(self, data):
        inputs, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._record(self._objective(targets, self.network(inputs, training=False)), ops.shape(inputs)[0])


class Classifier(Trainer):
    """Lx is the batch-mean softmax cross-entropy of the logits; also reports the error in %."""

    metric_names = ("loss", "Lx", "Lz", "error")

    def task_terms(self, labels, logits) -> dict:
        correct = ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int64"))
        return {
            "Lx": ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)),
            "error": 100.0 * (1.0 - ops.mean(ops.cast(correct, "float32"))),
        }


def batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Batches of in-memory arrays in their order (evaluation and the batch-norm dry run)."""
    return tf.data.Dataset.from_tensor_slices((x, y.astype("int64"))).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, first_epoch: int,
                  epochs: int) -> tf.data.Dataset:
    """The training batches of epochs ``first_epoch`` to ``epochs − 1``, each epoch in its own order.

    An epoch's order is a function of (seed, epoch) alone, so a run resumed at any epoch sees the
    batches an uninterrupted one would. The arrays stay in numpy and batches are gathered from them,
    which avoids copying the data set into the graph (and its 2 GB limit).
    """
    targets = y.astype("int64") if np.issubdtype(y.dtype, np.integer) else y  # labels, or images for a VAE

    def gather(indices):
        return x[indices], targets[indices]

    # Plain TensorFlow already: AutoGraph has nothing to convert in these closures.
    @tf.autograph.experimental.do_not_convert
    def one_epoch(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(len(x), dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    @tf.autograph.experimental.do_not_convert
    def load(indices):
        inputs, outputs = tf.numpy_function(gather, [indices], (tf.as_dtype(x.dtype), tf.as_dtype(targets.dtype)),
                                            stateful=False)
        inputs.set_shape((None, *x.shape[1:]))
        outputs.set_shape((None, *targets.shape[1:]))
        return inputs, outputs

    epochs_range = tf.data.Dataset.range(first_epoch, epochs)
    return epochs_range.flat_map(one_epoch).map(load).prefetch(tf.data.AUTOTUNE)


def save_network(network: keras.Model, path: str | os.PathLike) -> None:
    """Save ``network`` as .keras atomically: a crash never leaves half a checkpoint."""
    atomic_write(path, network.save)


@contextlib.contextmanager
def interrupt_requests() -> Iterator[list[str]]:
    """While inside, SIGINT and SIGTERM only record their name in the yielded list (the training loop
    stops at the end of the current batch), instead of killing the process mid-write."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be installed from the main thread
        return

    def handler(signum, frame):
        received.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def train_classifier(network: keras.Model, x_train: np.ndarray, y_train: np.ndarray, settings: TrainSettings,
                     checkpoint: str | os.PathLike, **kwargs) -> list[dict]:
    """Train a logits network on (x, y) with the paper's classification loss: see :func:`fit_trainer`."""
    return fit_trainer(Classifier(network, beta=settings.beta, weight_decay=settings.weight_decay),
                       x_train, y_train, settings, checkpoint, **kwargs)


def make_optimizer(settings: TrainSettings, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD with (Nesterov) momentum or Adam, on the piecewise learning-rate schedule."""
    learning_rate = piecewise_learning_rate(settings, steps_per_epoch)
    if settings.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=settings.momentum,
                                    nesterov=settings.nesterov)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {settings.optimizer!r}.")


def fit_trainer(
    trainer: Trainer,
    x_train: np.ndarray,
    y_train: np.ndarray,
    settings: TrainSettings,
    checkpoint: str | os.PathLike,
    log_scalar: Callable[[str, float, int], None] | None = None,
    verbose: int | str = "auto",
    monitor_alpha: bool = True,
    tensorboard_dir: str | os.PathLike | None = None,
    restart: bool = False,
) -> list[dict]:
    """Train ``trainer.network`` with the settings' optimizer and piecewise schedule; returns the
    per-epoch records.

    After every epoch the network is saved to ``checkpoint``, its record appended to the history file
    beside it, and the training state (see :mod:`infodropout.paper.checkpoint`) saved. If a state exists,
    training continues after its last completed epoch, unless ``restart``. ``monitor_alpha`` adds
    each Information Dropout layer's α statistics on the first 1,000 training inputs to every record;
    ``tensorboard_dir`` also writes the records there for TensorBoard.

    Raises :class:`TrainingDiverged` (a NaN or infinite loss term) and :class:`TrainingInterrupted`
    (SIGINT/SIGTERM), in both cases after the current batch, keeping the last completed epoch's files.
    """
    steps_per_epoch = math.ceil(len(x_train) / settings.batch_size)
    network = trainer.network
    optimizer = make_optimizer(settings, steps_per_epoch)
    trainer.compile(optimizer=optimizer, jit_compile=settings.jit_compile)
    optimizer.build(network.trainable_variables)
    # The learning rate is left out: it follows from the config and the iteration count.
    state_variables = [*network.variables, *(v for v in optimizer.variables if v.name != "learning_rate")]
    state = TrainingState(checkpoint)
    history = history_path(checkpoint)
    if restart:
        state.clear()
    first_epoch = state.restore(state_variables)
    records = read_history(history)[:first_epoch]
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(history, lambda path: Path(path).write_text("".join(json.dumps(r) + "\n" for r in records)))
    if first_epoch >= settings.epochs:
        print(f"{checkpoint} has completed its {settings.epochs} epochs; nothing to train (restart=True starts over).")
        return records
    if first_epoch:
        print(f"Resuming {checkpoint} after epoch {first_epoch}.")

    def save(epoch: int) -> None:
        save_network(network, checkpoint)
        state.save(epoch, state_variables)

    with interrupt_requests() as signals:
        # Order matters: each callback sees the logs the ones before it added.
        callbacks = [StopOnRequest(signals, checkpoint, steps_per_epoch), DivergenceGuard(checkpoint, steps_per_epoch)]
        if monitor_alpha:
            callbacks.append(AlphaMonitor(x_train[:1000], network, settings.batch_size))
        if tensorboard_dir is not None:
            callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
        callbacks.append(EpochRecorder(checkpoint, save, log_scalar))
        if verbose == 2:  # Keras's one line per epoch, made short enough to read (the α logs are many)
            callbacks.append(EpochLine(settings.epochs))
            verbose = 0
        trainer.fit(
            epoch_batches(x_train, y_train, settings.batch_size, settings.seed, first_epoch, settings.epochs),
            epochs=settings.epochs,
            initial_epoch=first_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            shuffle=False,  # epoch_batches orders each epoch itself
            verbose=verbose,
        )
    return read_history(history)


def read_history(path: str | os.PathLike) -> list[dict]:
    """The per-epoch records of a history file (empty if there is none)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def recalibrate_batch_norm(network: keras.Model, x_train: np.ndarray, batch_size: int) -> None:
    """The original test protocol's "dry run": one pass over the training set with the noise off
    (σ0 = 0) but batch norm in training mode, so that its moving statistics are those of the
    noiseless activations the test will see."""
    step = tf.function(lambda images: network(images, training=True))
    with noise_scale(network, 0.0):
        for images in tf.data.Dataset.from_tensor_slices(x_train).batch(batch_size):
            step(images)


def evaluate_classifier(
    network: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    beta: float,
    weight_decay: float,
    verbose: int | str = "auto",
) -> dict:
    """Loss, Lx, Lz and error (%) of the deterministic network (noise off) on (x, y)."""
    classifier = Classifier(network, beta=beta, weight_decay=weight_decay)
    classifier.compile(jit_compile=False)  # Keras would pick XLA, slower on CPU
    return {k: float(v) for k, v in classifier.evaluate(
        batches(x, y, batch_size), return_dict=True, verbose=verbose).items()}


def load_network(checkpoint: str | os.PathLike) -> keras.Model:
    """Load a network saved by :func:`train_classifier`; a missing file is a FileNotFoundError and an
    unreadable one a :class:`CheckpointError`, both saying what to do."""
    if not Path(checkpoint).exists():
        raise FileNotFoundError(
            f"no checkpoint at {checkpoint}: train it first with the same `with` values (`train with ...`)."
        )
    try:
        return keras.models.load_model(checkpoint)
    except (zipfile.BadZipFile, ValueError, OSError, KeyError) as error:
        raise CheckpointError(
            f"{checkpoint} is unreadable ({type(error).__name__}); train it again with `train with` the same "
            "values and restart=True.") from error


def test_classifier(network: keras.Model, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                    settings: TrainSettings, verbose: int | str = "auto") -> dict:
    """The paper's test protocol: the batch-norm dry run on the training inputs, then evaluation
    of the deterministic network on the test set."""
    recalibrate_batch_norm(network, x_train, settings.batch_size)
    return evaluate_classifier(network, x_test, y_test, settings.batch_size, settings.beta,
                               settings.weight_decay, verbose=verbose)


def train_nuisance_probe(network: keras.Model, probe: keras.Model, x_train: np.ndarray, nuisance_train: np.ndarray,
                         settings: TrainSettings, checkpoint: str | os.PathLike, **kwargs) -> keras.Model:
    """Train ``probe`` to predict the nuisance from ``network``'s frozen, noisy representation (the
    output of its layer named ``representation``); returns the stacked model (image → nuisance logits).

    The network's weights are frozen (its batch norm then runs with its moving statistics), while
    ``training=True`` keeps its noise on, as in the paper's nuisance task. Its KL still appears as Lz
    in the records, but with β = 0 nothing trains it.
    """
    features = keras.Model(network.input, network.get_layer("representation").output, name="frozen_representation")
    features.trainable = False
    stacked = keras.Model(network.input, probe(features(network.input)), name="nuisance_classifier")
    probe_settings = dataclasses.replace(settings, beta=0.0)
    fit_trainer(Classifier(stacked, beta=0.0, weight_decay=probe_settings.weight_decay), x_train, nuisance_train,
                probe_settings, checkpoint, monitor_alpha=False, **kwargs)
    return stacked
