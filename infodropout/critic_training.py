"""How a neural estimator's network (a critic) is trained and judged: the rows split into training, validation
and held-out parts, Adam with early stopping on a validation value (its settings one :class:`TrainingSettings`
record, its outcome a :class:`Training` record), and whether the validation history converged."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from infodropout.estimation_tools import Estimate

# The fewest optimiser steps a critic takes, whatever ``epochs`` says: on a few thousand pairs an epoch is
# tens of steps, fewer than MINE's moving average spans (1 / rate = 100 batches).
MIN_STEPS = 500

# Validation values recorded during training: the best one's weights are kept, and their last quarter
# judges convergence.
CHECKPOINTS = 20

# A rise of the best validation value over the last quarter of the steps smaller than this (nats) counts as
# converged even where the standard error is smaller still (0.000 ± 0.001 for independent variables).
CONVERGENCE_FLOOR = 0.02


@dataclass(frozen=True)
class TrainingSettings:
    """How a critic is trained, passed whole to :func:`split_rows` and :func:`train_critic`: ``batch_size``
    rows a step, ``epochs`` passes over the training rows or as many more as ``min_steps`` steps take, Adam at
    ``learning_rate``; ``held_out`` and ``validation``, the shares of the rows kept for the estimate and for
    picking the critic; ``seed``, which seeds the split and the batches' order; ``verbose``, Keras's ``fit``
    verbosity."""

    batch_size: int
    epochs: int
    min_steps: int
    learning_rate: float
    held_out: float
    validation: float
    seed: int
    verbose: int


def split_rows(n: int, settings: TrainingSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled training, validation and held-out indices of ``n`` rows, in the shares of ``settings``; the
    training part a multiple of its batch size."""
    held_out, validation, batch_size = settings.held_out, settings.validation, settings.batch_size
    if not 0 < held_out < 1 or not 0 < validation < 1 or held_out + validation >= 1:
        raise ValueError(f"held_out and validation must be in (0, 1) with a sum below 1, got {held_out} and "
                         f"{validation}.")
    order = np.random.default_rng(settings.seed).permutation(n)
    n_eval, n_validation = int(round(n * held_out)), int(round(n * validation))
    n_train = (n - n_eval - n_validation) // batch_size * batch_size
    if n_train < batch_size or n_eval < 4 or n_validation < 2:
        raise ValueError(f"{n} samples are too few for batches of {batch_size} with held_out={held_out} and "
                         f"validation={validation}.")
    return (order[n_eval + n_validation:n_eval + n_validation + n_train], order[n_eval:n_eval + n_validation],
            order[:n_eval])


@dataclass(frozen=True)
class Training:
    """A critic's training: the validation value at each checkpoint (step, value), whether the loss stayed
    finite, and the step whose weights were kept (the best validation value)."""

    history: tuple[tuple[int, float], ...]
    finite: bool
    best_step: int


def train_critic(model: keras.Model, x: np.ndarray, validation_value: Callable[[], float],
                 settings: TrainingSettings) -> Training:
    """Adam on ``x`` for ``settings.epochs`` passes over it, or as many more as ``settings.min_steps`` steps
    take, each pass in a fresh random order; ``validation_value()`` at :data:`CHECKPOINTS` evenly spaced steps,
    and the model left with the weights of the best one (early stopping: with thousands of pairs a critic
    overfits its training pairs, and its held-out bound then falls while training goes on)."""
    batch_size, verbose = settings.batch_size, settings.verbose
    steps_per_pass = len(x) // batch_size
    passes = max(settings.epochs, math.ceil(settings.min_steps / steps_per_pass))
    rng = np.random.default_rng(settings.seed)
    # All passes in one array, cut into CHECKPOINTS chunks, each a fit call: no set-up per pass.
    stream = np.concatenate([x[rng.permutation(len(x))[:steps_per_pass * batch_size]] for _ in range(passes)])
    steps = passes * steps_per_pass
    checkpoints = min(CHECKPOINTS, steps)
    steps_per_checkpoint = steps // checkpoints
    stream = stream[:checkpoints * steps_per_checkpoint * batch_size]
    history: list[tuple[int, float]] = []
    best_value, best_weights, best_step = -math.inf, None, 0
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate))
    finite = True
    # One fit call per checkpoint on its share of the stream (the compiled step and Adam's state carry over).
    for checkpoint in range(checkpoints):
        rows = steps_per_checkpoint * batch_size
        chunk = stream[checkpoint * rows:(checkpoint + 1) * rows]
        losses = model.fit(chunk, batch_size=batch_size, epochs=1, shuffle=False, verbose=verbose).history["loss"]
        if not all(math.isfinite(v) for v in losses):
            finite = False
            break
        step, value = (checkpoint + 1) * steps_per_checkpoint, validation_value()
        history.append((step, value))
        if math.isfinite(value) and value > best_value:
            best_value, best_weights, best_step = value, model.get_weights(), step
    if best_weights is not None:
        model.set_weights(best_weights)
    return Training(tuple(history), finite and best_weights is not None, best_step)


def convergence(history: Sequence[tuple[int, float]], tolerance: float) -> str | None:
    """``None`` where the best validation value rose over the last quarter of the steps by at most
    max(``tolerance``, :data:`CONVERGENCE_FLOOR`) (the estimate kept is the best checkpoint's, so a value
    that falls late, a critic overfitting, leaves it unchanged), else why not."""
    if len(history) < 2:
        return "not converged: fewer than 2 checkpoints"
    steps = np.array([s for s, _ in history], dtype=float)
    values = np.array([v for _, v in history], dtype=float)
    values = np.where(np.isfinite(values), values, -np.inf)
    late = steps > 0.75 * steps[-1]
    if late.all():
        late = steps == steps[-1]
    rise = float(values[late].max() - values[~late].max())
    allowed = max(tolerance if math.isfinite(tolerance) else 0.0, CONVERGENCE_FLOOR)
    if rise <= allowed:
        return None
    return (f"not converged: the best validation value rose by {rise:.3f} nats in the last quarter of "
            f"{int(steps[-1])} steps, more than {allowed:.3f}")


def with_convergence(estimate: Estimate) -> Estimate:
    """``estimate``, marked invalid where it is valid so far but its history did not converge."""
    reason = convergence(estimate.history, estimate.stderr) if estimate.valid else None
    if reason is None:
        return estimate
    return Estimate(float(estimate), estimate.stderr, valid=False, reason=reason, ceiling=estimate.ceiling,
                    history=estimate.history)
