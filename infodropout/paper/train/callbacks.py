"""The callbacks of a training run: per-epoch records and checkpoints, and stopping on a signal or a
diverging loss."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import keras


def history_path(checkpoint: str | os.PathLike) -> Path:
    """The per-epoch metrics file that lives beside a checkpoint."""
    return Path(checkpoint).with_suffix(".history.jsonl")


class EpochRecorder(keras.callbacks.Callback):
    """After each epoch: rewrite the history file with every record so far (atomically: a full disk or a
    kill leaves the previous history whole), hand the record to ``log_scalar`` (sacred's, in the
    scripts), then ``save(completed_epochs)``. The history is written first, so after a crash it can
    only be one record ahead of the saved state, and resuming trims it back. ``check()``, called before anything
    is written, may raise to stop the run instead (the run's folder is gone)."""

    def __init__(self, checkpoint: str | os.PathLike, save: Callable[[int], None],
                 log_scalar: Callable[[str, float, int], None] | None = None, records: list[dict] | None = None,
                 check: Callable[[], None] | None = None):
        super().__init__()
        self.checkpoint = Path(checkpoint)
        self.save = save
        self.check = check
        self.log_scalar = log_scalar
        self.records = list(records or [])

    def on_epoch_end(self, epoch, logs=None):
        from infodropout.paper.train.checkpoint import atomic_write

        if self.check is not None:
            self.check()
        record = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        records = [*self.records, record]
        text = "".join(json.dumps(r) + "\n" for r in records)
        atomic_write(history_path(self.checkpoint), lambda path: Path(path).write_text(text))
        self.records = records
        if self.log_scalar is not None:
            for key, value in record.items():
                if key != "epoch":
                    self.log_scalar(key, value, epoch + 1)
        self.save(epoch + 1)


class TrainingStopped(RuntimeError):
    """Training ended early; the message says why and what was kept."""


class TrainingDiverged(TrainingStopped):
    """A loss term became NaN or infinite, or the loss exploded (see :class:`DivergenceGuard`)."""


class TrainingInterrupted(TrainingStopped):
    """SIGINT or SIGTERM arrived."""


class _EpochAware(keras.callbacks.Callback):
    """Knows the epoch it is in, to name it in its messages."""

    def __init__(self, checkpoint: str | os.PathLike, steps_per_epoch: int):
        super().__init__()
        self.checkpoint, self.steps_per_epoch = checkpoint, steps_per_epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


class StopOnRequest(_EpochAware):
    """Turns a SIGINT/SIGTERM recorded in :attr:`signals` into :class:`TrainingInterrupted` at the end of a batch (of
    a compiled call, when a call runs several steps: Keras calls the batch hooks once a call).

    Raising, rather than setting ``stop_training``, keeps Keras from closing the epoch: a partial
    epoch must not be saved as a completed one."""

    def __init__(self, checkpoint: str | os.PathLike, steps_per_epoch: int, steps_per_call: int = 1):
        super().__init__(checkpoint, steps_per_epoch)
        self.steps_per_call = steps_per_call
        self.signals: list[str] = []  # filled as requests arrive (interrupts.interrupt_requests)

    def kept(self) -> str:
        """What a stop now keeps, and how to go on."""
        if self.epoch == 0:
            return "no epoch of this run has completed, so nothing of it is saved; the same command starts it again"
        return (f"{self.checkpoint} keeps the last completed epoch ({self.epoch}); the same command resumes from "
                "there")

    def notice(self) -> str:
        """What is said the moment a request arrives."""
        batches = "1 more batch" if self.steps_per_call == 1 else f"{self.steps_per_call} more batches"
        return f"At most {batches}; {self.kept()}."

    def on_train_batch_end(self, batch, logs=None):
        if self.signals:
            raise TrainingInterrupted(
                f"{self.signals[0]} in epoch {self.epoch + 1}, batch {batch + 1}/{self.steps_per_epoch}: "
                f"{self.kept()}.")


# The divergence rule: the epoch's running mean loss (the logs' "loss") above this factor times the
# first loss the run logged (at least 1; the mean over its first compiled call's batches) means the run has
# blown up, even if it is still finite.
# A healthy run's loss falls from its first batch (the classifier's from about ln 10 + its penalties,
# the VAE's from about 550 nats); the KL terms are bounded by about 6.6 nats a unit for ReLU, so a
# hundredfold rise is not training. (Seen: learning_rate=1000 on CIFAR reaches 3e17 and 90 % error.)
EXPLOSION_FACTOR = 100.0


class DivergenceGuard(_EpochAware):
    """Stops training at the first logged loss (once a compiled call) that is NaN, infinite, or more than
    :data:`EXPLOSION_FACTOR` times the first one (at least 1), naming the term responsible: Lx,
    Lz (the KL terms, β in their weight), or weight_decay·L2, the last only when weight_decay is not 0.

    A batch's loss is computed before its update, so the epoch's last update is never seen by it (with one
    batch an epoch, no update is): at the end of each epoch, before it is saved, the weights themselves are
    checked too. Weights that are not finite, or whose norm grew past :data:`EXPLOSION_FACTOR` times their
    norm when training started (at least 1), stop the run; that epoch is not saved as completed."""

    def __init__(self, checkpoint: str | os.PathLike, steps_per_epoch: int, weight_decay: float = 0.0):
        super().__init__(checkpoint, steps_per_epoch)
        self.weight_decay = float(weight_decay)
        self.reference: float | None = None
        self.initial_norm: float | None = None

    def weight_norm(self) -> float:
        """The Euclidean norm of all the trainable weights together (in float64: a float32 sum of squares
        overflows long before the weights do)."""
        import numpy as np

        total = sum(float(np.sum(np.square(np.asarray(variable.numpy(), dtype=np.float64))))
                    for variable in self.model.trainable_variables)
        return math.sqrt(total) if math.isfinite(total) else math.inf

    def on_train_begin(self, logs=None):
        self.initial_norm = self.weight_norm()

    def on_epoch_end(self, epoch, logs=None):
        norm = self.weight_norm()
        reference = max(self.initial_norm or 0.0, 1.0)
        if math.isfinite(norm) and norm <= EXPLOSION_FACTOR * reference:
            return
        what = "are not finite" if not math.isfinite(norm) else (
            f"have a norm of {norm:.4g}, over {EXPLOSION_FACTOR:g} times their {reference:.4g} when training started")
        kept = f"{self.checkpoint} keeps epoch {epoch}" if epoch else "no epoch was completed"
        raise TrainingDiverged(
            f"training diverged in epoch {epoch + 1}: after its last update the weights {what}; {kept}. "
            "Lower learning_rate (or beta) and run again with restart=True.")

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = float(logs.get("loss", 0.0))
        if self.reference is None and math.isfinite(loss):
            self.reference = max(abs(loss), 1.0)
        limit = EXPLOSION_FACTOR * (self.reference or 1.0)
        if math.isfinite(loss) and abs(loss) <= limit:
            return
        # The logs hold running means over the epoch, which stay non-finite once a batch was.
        terms = {"Lx": float(logs.get("Lx", 0.0)), "Lz": float(logs.get("Lz", 0.0))}
        if self.weight_decay:
            terms["weight_decay·L2"] = loss - terms["Lx"] - terms["Lz"]
        broken = [name for name, value in terms.items() if not math.isfinite(value)]
        if broken:
            term = broken[0]
        elif not math.isfinite(loss):  # each term finite, their sum not (e.g. +inf and -inf)
            term = "the sum of the terms"
        else:
            term = max(terms, key=lambda name: abs(terms[name]))
        value = terms.get(term, loss)
        why = "" if not math.isfinite(loss) else (
            f" (the loss, {loss:.4g}, is over {EXPLOSION_FACTOR:g} times its first logged {self.reference:.4g})")
        kept = f"{self.checkpoint} keeps epoch {self.epoch}" if self.epoch else "no epoch was completed"
        raise TrainingDiverged(
            f"training diverged in epoch {self.epoch + 1}, batch {batch + 1}/{self.steps_per_epoch}: {term} is "
            f"{value:.4g}{why}; {kept}. Lower learning_rate (or beta) and run again with restart=True.")


class EpochLine(keras.callbacks.Callback):
    """One short line per epoch (what ``verbose=2`` prints in the scripts): the epoch, its time, the loss
    terms, the training error, the mean α over the Information Dropout layers, and the time left."""

    def __init__(self, epochs: int, stream=None):
        super().__init__()
        self.epochs = epochs
        self.stream = stream
        self._start = self._epoch_start = None
        self._first_epoch = 0

    def on_train_begin(self, logs=None):
        import time

        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        import time

        if self._epoch_start is None:
            self._first_epoch = epoch
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        import sys
        import time

        logs = logs or {}
        now = time.perf_counter()
        done = epoch + 1 - self._first_epoch
        left = (now - self._start) / done * (self.epochs - epoch - 1)
        parts = [f"epoch {epoch + 1}/{self.epochs}", f"{now - self._epoch_start:.1f} s"]
        parts += [f"{key} {logs[key]:.4f}" for key in ("loss", "Lx", "Lz") if key in logs]
        if "error" in logs:
            parts.append(f"error {logs['error']:.2f} %")
        alphas = [value for key, value in logs.items() if key.endswith(".alpha_mean")]
        if alphas:
            parts.append(f"mean α {sum(alphas) / len(alphas):.3f}")
        if epoch + 1 < self.epochs:
            parts.append(f"about {left:.0f} s left")
        print("  ".join(parts), file=self.stream or sys.stdout, flush=True)
