"""Training and testing with the paper's objective, schedules and test protocol (SPEC §1, §5).

``loss = Lx + β·Lz + weight_decay·L2`` where Lx is the batch-mean cross-entropy, Lz the sum of the
model's KL losses (the Information Dropout layers add ``mean_batch(Σ_units KL) / N_train`` each) and
L2 = Σ_w ‖w‖²/2 over every trainable variable, as ``tf.nn.l2_loss`` in the original code.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from infodropout.callbacks import AlphaMonitor, EpochRecorder, history_path
from infodropout.layers import noise_scale

METRICS = ("loss", "Lx", "Lz", "error")


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


def piecewise_learning_rate(settings: TrainSettings, steps_per_epoch: int):
    """The learning rate multiplied by ``lr_decay`` at each epoch of ``lr_drops``."""
    drops = sorted(d for d in settings.lr_drops if 0 < d < settings.epochs)
    if not drops:
        return settings.learning_rate
    boundaries = [d * steps_per_epoch for d in drops]
    values = [settings.learning_rate * settings.lr_decay**k for k in range(len(drops) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


class Classifier(keras.Model):
    """Wraps a logits network with the paper's loss; its metrics are the per-epoch Lx, Lz, loss, error."""

    def __init__(self, network: keras.Model, beta: float, weight_decay: float, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.beta = float(beta)
        self.weight_decay = float(weight_decay)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def _objective(self, labels, logits) -> dict:
        lx = ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
        losses = self.network.losses
        lz = ops.sum(ops.stack(losses)) if losses else ops.zeros(())
        l2 = ops.sum(ops.stack([ops.sum(ops.square(w)) for w in self.network.trainable_variables])) / 2
        correct = ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int64"))
        return {
            "loss": lx + self.beta * lz + self.weight_decay * l2,
            "Lx": lx,
            "Lz": lz,
            "error": 100.0 * (1.0 - ops.mean(ops.cast(correct, "float32"))),
        }

    def _record(self, terms: dict) -> dict:
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        images, labels = data
        with tf.GradientTape() as tape:
            terms = self._objective(labels, self.network(images, training=True))
        variables = self.network.trainable_variables
        self.optimizer.apply(tape.gradient(terms["loss"], variables), variables)
        return self._record(terms)

    def test_step(self, data):
        images, labels = data
        return self._record(self._objective(labels, self.network(images, training=False)))


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None) -> tf.data.Dataset:
    """A tf.data pipeline over in-memory arrays, shuffled each epoch when a seed is given."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y.astype("int64")))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def save_atomically(network: keras.Model, path: str | os.PathLike) -> None:
    """Save ``network`` as .keras through a temporary file, so a crash never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".keras", prefix=f".{path.stem}.", dir=path.parent)
    os.close(fd)
    try:
        network.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def train_classifier(
    network: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    settings: TrainSettings,
    checkpoint: str | os.PathLike,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    log_scalar: Callable[[str, float, int], None] | None = None,
    verbose: int | str = "auto",
    monitor_alpha: bool = True,
    tensorboard_dir: str | os.PathLike | None = None,
) -> list[dict]:
    """Train with SGD (Nesterov momentum) and the piecewise schedule; returns the per-epoch records.

    The network is saved to ``checkpoint`` after every epoch and the metrics appended to the history
    file beside it (a new run starts a new history). ``monitor_alpha`` adds each Information Dropout
    layer's α statistics on the first 1,000 training inputs to every epoch's record;
    ``tensorboard_dir`` also writes the records there for TensorBoard.
    """
    steps_per_epoch = math.ceil(len(x_train) / settings.batch_size)
    classifier = Classifier(network, beta=settings.beta, weight_decay=settings.weight_decay)
    classifier.compile(
        optimizer=keras.optimizers.SGD(
            learning_rate=piecewise_learning_rate(settings, steps_per_epoch),
            momentum=settings.momentum,
            nesterov=settings.nesterov,
        )
    )
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    history_path(checkpoint).unlink(missing_ok=True)
    # Order matters: each callback sees the logs the ones before it added.
    callbacks = [AlphaMonitor(x_train[:1000], network, settings.batch_size)] if monitor_alpha else []
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
    callbacks.append(EpochRecorder(checkpoint, network, save_atomically, log_scalar))
    fit = classifier.fit(
        batches(x_train, y_train, settings.batch_size, shuffle_seed=settings.seed),
        epochs=settings.epochs,
        validation_data=None if validation is None else batches(*validation, settings.batch_size),
        callbacks=callbacks,
        shuffle=False,  # the pipeline shuffles, with the run's seed
        verbose=verbose,
    )
    return [
        {"epoch": epoch + 1, **{k: float(v[epoch]) for k, v in fit.history.items()}}
        for epoch in range(len(fit.history["loss"]))
    ]


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
    classifier.compile()
    return {k: float(v) for k, v in classifier.evaluate(
        batches(x, y, batch_size), return_dict=True, verbose=verbose).items()}


def load_network(checkpoint: str | os.PathLike) -> keras.Model:
    """Load a network saved by :func:`train_classifier`, with a clear error when it is missing."""
    if not Path(checkpoint).exists():
        raise FileNotFoundError(
            f"no checkpoint at {checkpoint}: train it first with the same `with` values (`train with ...`)."
        )
    return keras.models.load_model(checkpoint)


def test_classifier(network: keras.Model, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                    settings: TrainSettings, verbose: int | str = "auto") -> dict:
    """The paper's test protocol: the batch-norm dry run on the training inputs, then evaluation
    of the deterministic network on the test set."""
    recalibrate_batch_norm(network, x_train, settings.batch_size)
    return evaluate_classifier(network, x_test, y_test, settings.batch_size, settings.beta,
                               settings.weight_decay, verbose=verbose)
