"""Training and testing with the paper's objective, schedules and test protocol (SPEC §1, §5).

The objective is the library's (:mod:`infodropout.objective`): ``loss = Lx + Lz + weight_decay·L2`` where Lx is the
batch-mean cross-entropy, Lz the sum of the model's KL losses (each Information Dropout layer adds
``kl_weight · mean_batch(Σ_units KL)`` with ``kl_weight = β / N_train``) and L2 = Σ_w ‖w‖²/2 over every trainable
variable, as ``tf.nn.l2_loss`` in the original code.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from infodropout.readouts import relu_layers
from infodropout.callbacks import AlphaMonitor, DeadUnitMonitor
from infodropout.objective import InformationBottleneck
from infodropout.paper.train.checkpoint import RunLock, TrainingState, atomic_write, remove_temporaries, resumable_history
from infodropout.paper.train.distribution import is_chief, synchronize_batch_norm, worker_scratch
from infodropout.paper.train.interrupts import interrupt_requests
from infodropout.paper.train.run_time import long_run_notice, step_seconds
from infodropout.paper.train.callbacks import (  # noqa: F401  (the exceptions are part of this module's interface)
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
    weight_decay: float = 0.001
    seed: int = 0
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adam"
    # XLA: off by default, as it made every network slower on CPU (docs/performance.md).
    jit_compile: bool = False
    # Data parallelism (see make_strategy): "default" (one device), "mirrored" or "multi_worker".
    strategy: str = "default"
    # The devices "mirrored" spreads over: 0 for every visible GPU (one device without any); n > 0 for
    # the first n GPUs, or, on a host without GPUs, the CPU split into n logical devices.
    devices: int = 0
    # Keras's dtype policy: "float32", "mixed_float16" (with dynamic loss scaling) or "mixed_bfloat16".
    precision: str = "float32"


# Training steps a compiled call runs. One call a step paid 3 % (All-CNN-32 at 10 % of its filters) to 8 % (25 %)
# of the step in Python and dispatch (docs/performance.md); ten a call leave a fraction of that.
MAX_STEPS_PER_CALL = 10
# A compiled call cannot be stopped part-way, so a stop request (Ctrl-C) waits for its end: where steps are slow (a
# full-width network on a CPU: seconds each) a call runs fewer of them, to last about this long at most.
CALL_SECONDS = 2.0


def steps_per_call(steps_per_epoch: int, seconds_per_step: float = 0.0) -> int:
    """The most steps, at most :data:`MAX_STEPS_PER_CALL` and, given the time of a step, no more than fit in
    :data:`CALL_SECONDS` (at least one), that one compiled call can run while every epoch still ends between two
    calls (a divisor of ``steps_per_epoch``): Keras runs whole calls, so a call that crossed the end of an epoch
    would save that epoch's checkpoint a few steps into the next. How many steps a call runs changes no number."""
    most = MAX_STEPS_PER_CALL
    if seconds_per_step > 0:
        most = max(1, min(most, int(CALL_SECONDS // seconds_per_step)))
    return max(k for k in range(1, most + 1) if steps_per_epoch % k == 0)


def piecewise_learning_rate(settings: TrainSettings, steps_per_epoch: int):
    """The learning rate multiplied by ``lr_decay`` at each epoch of ``lr_drops``."""
    drops = sorted({d for d in settings.lr_drops if 0 < d < settings.epochs})  # a repeated drop counts once
    if not drops:
        return settings.learning_rate
    boundaries = [d * steps_per_epoch for d in drops]
    values = [settings.learning_rate * settings.lr_decay**k for k in range(len(drops) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


class Trainer(InformationBottleneck):
    """The library's objective (:class:`~infodropout.objective.InformationBottleneck`: ``Lx + Lz + weight_decay·L2``,
    β in the layers' ``kl_weight``) with what the harness's TensorFlow strategies need on top: exact weights for
    uneven replica shares, and logs a multi-worker step can average. Subclasses give the task loss
    (:attr:`task_loss_function`) and may log more terms (``metric_names``)."""

    def task_loss_function(self) -> keras.losses.Loss:
        """The loss that ``compile(loss=...)`` gets: Lx per example."""
        raise NotImplementedError

    def scaled_loss(self, terms: dict, batch_size):
        """The loss this replica differentiates, such that the sum of the replicas' gradients (what the
        optimizer applies under a tf.distribute strategy) is the gradient of the global batch's loss.

        Lx and Lz are means over this replica's examples (the KL's kl_weight holds β / N_train): weighted by the
        replica's share of the global batch, n_local / n_global, their sum over replicas is the mean over
        the global batch, also for a last, smaller or uneven batch (the library's 1 / replicas assumes equal
        shares). The weight decay is the same on every replica, so each takes 1/replicas of it. Without a
        strategy both factors are 1 and this is ``terms["loss"]``.
        """
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1:
            return terms["loss"]
        local = ops.cast(batch_size, "float32")
        share = local / context.all_reduce(tf.distribute.ReduceOp.SUM, local)
        return share * (terms["Lx"] + terms["Lz"]) + self.weight_decay * terms["L2"] / replicas

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        results = super().compute_metrics(x, y, y_pred, sample_weight)
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages a multi-worker step's logs over axis 0, which a scalar lacks: give it one.
            results = {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results


class Classifier(Trainer):
    """Lx is the batch-mean softmax cross-entropy of the logits; also reports the error in %."""

    metric_names = ("loss", "Lx", "Lz", "error")

    def task_loss_function(self) -> keras.losses.Loss:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def task_terms(self, labels, logits, sample_weight=None) -> dict:
        correct = ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int64"))
        return {**super().task_terms(labels, logits, sample_weight),
                "error": 100.0 * (1.0 - ops.mean(ops.cast(correct, "float32")))}


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


def train_classifier(network: keras.Model, x_train: np.ndarray, y_train: np.ndarray, settings: TrainSettings,
                     checkpoint: str | os.PathLike, **kwargs) -> list[dict]:
    """Train a logits network on (x, y) with the paper's classification loss: see :func:`fit_trainer`."""
    return fit_trainer(Classifier(network, weight_decay=settings.weight_decay),
                       x_train, y_train, settings, checkpoint, **kwargs)


def make_optimizer(settings: TrainSettings, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD with (Nesterov) momentum or Adam, on the piecewise learning-rate schedule; under
    ``mixed_float16`` wrapped in dynamic loss scaling, so that small gradients do not underflow."""
    learning_rate = piecewise_learning_rate(settings, steps_per_epoch)
    if settings.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    elif settings.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=settings.momentum,
                                         nesterov=settings.nesterov)
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {settings.optimizer!r}.")
    if settings.precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


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
    early_stopping: keras.callbacks.Callback | None = None,
) -> list[dict]:
    """Train ``trainer.network`` with the settings' optimizer and piecewise schedule; returns the
    per-epoch records.

    After every epoch the network is saved to ``checkpoint``, its record appended to the history file
    beside it, and the training state (see :mod:`infodropout.paper.train.checkpoint`) saved. If a state exists,
    training continues after its last completed epoch, unless ``restart``. ``monitor_alpha`` adds
    each Information Dropout layer's α statistics on the first 1,000 training inputs to every record;
    every ReLU dense layer's share of dead units on the same 1,000 inputs is added too (``L.dead_fraction``);
    ``tensorboard_dir`` also writes the records there for TensorBoard. ``early_stopping``, an
    :class:`~infodropout.paper.train.early_stopping.EarlyStopping`, adds its validation scores to every record,
    ends training when they stop improving (a resumed run takes up its count from the history) and leaves
    the best epoch's weights in the network and the checkpoint.

    One process at a time trains a checkpoint (:class:`RunLock`, ``<name>.lock`` beside it); temporary
    files that a killed run left are removed first. ``restart`` deletes nothing before the first new
    epoch replaces the old files. A history that disagrees with the state is trimmed (ahead of it) or
    refused (behind it: :func:`resumable_history`).

    Raises :class:`TrainingDiverged` (a NaN, infinite or exploding loss) and :class:`TrainingInterrupted`
    (SIGINT/SIGTERM), in both cases after the current compiled call (:func:`steps_per_call` batches, a couple of
    seconds at most where steps are slow), keeping the last completed epoch's files; a second SIGINT ends the
    process at once (:mod:`~infodropout.paper.train.interrupts`). A run expected to take more than an hour says so
    first (:mod:`~infodropout.paper.train.run_time`);
    :class:`RunLocked` if another live process trains the same checkpoint; :class:`CheckpointError`.
    """
    # A non-chief worker of a multi_worker cluster writes to its own scratch folder, so it locks that.
    with RunLock(checkpoint if is_chief() else worker_scratch(checkpoint)) as lock:
        # Under the lock, no live process writes this run's files: what a killed one left is litter.
        remove_temporaries(checkpoint)
        return _fit_locked(trainer, x_train, y_train, settings, checkpoint, log_scalar, verbose, monitor_alpha,
                           tensorboard_dir, restart, early_stopping, lock)


def _fit_locked(trainer: Trainer, x_train: np.ndarray, y_train: np.ndarray, settings: TrainSettings,
                checkpoint: str | os.PathLike, log_scalar, verbose, monitor_alpha: bool, tensorboard_dir,
                restart: bool, early_stopping: keras.callbacks.Callback | None, lock: RunLock) -> list[dict]:
    steps_per_epoch = math.ceil(len(x_train) / settings.batch_size)
    network = trainer.network
    seconds_per_step = step_seconds(network, x_train, settings.batch_size)
    per_call = steps_per_call(steps_per_epoch, seconds_per_step)
    if tf.distribute.has_strategy():
        synchronize_batch_norm(network)
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras's fit averages a first distributed batch across workers to build the model symbolically,
            # which fails for a multi-worker batch (PerReplica to Tensor); the trainer is built already, and
            # without a strategy of its own it uses the one in scope (fit runs inside strategy.scope()).
            trainer._distribute_strategy = None
            # Keras's loop of several steps a call fails on a multi-worker iterator (a placeholder left unfed).
            per_call = 1
    optimizer = make_optimizer(settings, steps_per_epoch)
    trainer.compile(optimizer=optimizer, loss=trainer.task_loss_function(), jit_compile=settings.jit_compile,
                    steps_per_execution=per_call)
    optimizer.build(network.trainable_variables)
    # The learning rate is left out: it follows from the config and the iteration count.
    state_variables = [*network.variables, *(v for v in optimizer.variables if v.name != "learning_rate")]
    state = TrainingState(checkpoint)
    history = history_path(checkpoint)
    # restart=True deletes nothing here: the old files stay until the new run's first epoch replaces
    # them, so a restart that fails before then (bad data, a full disk, Ctrl-C) leaves the old run whole.
    first_epoch = 0 if restart else state.restore(state_variables)
    records = [] if restart else resumable_history(history, first_epoch, state.latest)
    if not is_chief():
        # A non-chief worker of a multi_worker cluster resumes from the chief's files but writes its own
        # (the same values) to a scratch folder beside them, so that no two processes write one file.
        checkpoint = worker_scratch(checkpoint)
        state = TrainingState(checkpoint)
        state.clear()
        history = history_path(checkpoint)
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    stopped = early_stopping is not None and early_stopping.resume(records)
    if first_epoch >= settings.epochs or stopped:
        done = f"stopped early after epoch {first_epoch}" if stopped else f"has completed its {settings.epochs} epochs"
        print(f"{checkpoint} {done}; nothing to train (restart=True starts over).")
        if early_stopping is not None:
            early_stopping.restore_best()
            save_network(network, checkpoint)
        return records
    if first_epoch:
        print(f"Resuming {checkpoint} after epoch {first_epoch}.")
    notice = long_run_notice(checkpoint, settings.epochs - first_epoch, steps_per_epoch, seconds_per_step,
                             gpu=bool(tf.config.list_logical_devices("GPU")))
    if notice:
        print(notice, flush=True)

    def save(epoch: int) -> None:
        save_network(network, checkpoint)
        state.save(epoch, state_variables)
        if restart and epoch == first_epoch + 1:
            state.previous.unlink(missing_ok=True)  # the old run's state: never fall back to it

    stop = StopOnRequest(checkpoint, steps_per_epoch, per_call)
    with interrupt_requests(stop.signals, stop.notice):
        # Order matters: each callback sees the logs the ones before it added.
        callbacks = [stop,
                     DivergenceGuard(checkpoint, steps_per_epoch, trainer.weight_decay)]
        if monitor_alpha:
            callbacks.append(AlphaMonitor(x_train[:1000], network, settings.batch_size))
        if relu_layers(network):  # the fully connected networks: record dead ReLU units
            callbacks.append(DeadUnitMonitor(x_train[:1000], network, settings.batch_size))
        if early_stopping is not None:
            callbacks.append(early_stopping)
        if tensorboard_dir is not None:
            callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
        recorder = EpochRecorder(checkpoint, save, log_scalar, records, check=lock.check_held)
        callbacks.append(recorder)
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
    if early_stopping is not None:  # the checkpoint keeps the best epoch, the state the last one (to resume)
        early_stopping.restore_best()
        save_network(network, checkpoint)
    return recorder.records
