"""Training until a validation score stops improving: the validation split and the early-stopping callback.

The validation images are carved from the *training* set (:func:`validation_split`), never from the
test set, so that the test numbers stay unseen by every choice made on them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from infodropout.paper.train.checkpoint import atomic_write
from infodropout.paper.errors import DataError
from infodropout.paper.data.formats import Dataset


def validation_split(data: Dataset, count: int) -> tuple[Dataset, tuple[np.ndarray, np.ndarray]]:
    """The last ``count`` training examples held out: returns the data set with the rest as its training
    part (its test part unchanged) and the held-out (x, y). ``count`` 0 holds out nothing."""
    if count <= 0:
        return data, (data.x_train[:0], data.y_train[:0])
    if count >= len(data.x_train):
        raise DataError(f"validation={count} leaves no training images (there are {len(data.x_train)}); use "
                        f"validation below {len(data.x_train)}.")
    cut = len(data.x_train) - count
    kept = Dataset(data.x_train[:cut], data.y_train[:cut], data.x_test, data.y_test)
    return kept, (data.x_train[cut:], data.y_train[cut:])


class EarlyStopping(keras.callbacks.Callback):
    """After each epoch: add ``evaluate()``'s scores (e.g. ``val_elbo``) to the epoch's logs, keep the
    weights of the best epoch so far (by ``monitor``, higher is better) in ``<checkpoint>.best.npz``, add
    ``best_epoch`` to the logs, and stop training once ``patience`` epochs in a row did not improve on it.

    Nothing else is stored: :meth:`resume` derives the best score, its epoch and the patience counter from
    the history's records, so a resumed run goes on exactly as an uninterrupted one.
    :meth:`restore_best` puts the best weights back into ``network`` (fit_trainer does it when training
    ends, before saving the checkpoint). Place it before the callback that writes the history.
    """

    def __init__(self, network: keras.Model, evaluate: Callable[[], dict], checkpoint: str | os.PathLike,
                 patience: int, monitor: str = "val_elbo"):
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}.")
        self.network, self.evaluate, self.patience, self.monitor = network, evaluate, int(patience), monitor
        self.best_path = Path(checkpoint).with_suffix(".best.npz")
        self.best: float | None = None
        self.best_epoch = 0
        self.wait = 0

    def resume(self, records: list[dict]) -> bool:
        """Take up the count from the records of the epochs already done; True if they already ended the run."""
        if not records:
            self.best_path.unlink(missing_ok=True)  # a new run: an old run's best weights must not stay
        scored = [(r[self.monitor], r["epoch"]) for r in records if self.monitor in r]
        self.best, self.best_epoch, self.wait = None, 0, 0
        for value, epoch in scored:
            if self.best is None or value > self.best:
                self.best, self.best_epoch = value, epoch
        if scored:
            self.wait = records[-1]["epoch"] - self.best_epoch
        return bool(scored) and self.wait >= self.patience

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs.update({key: float(value) for key, value in self.evaluate().items()})
        value = logs[self.monitor]
        if self.best is None or value > self.best:
            self.best, self.best_epoch, self.wait = value, epoch + 1, 0
            weights = self.network.get_weights()
            atomic_write(self.best_path, lambda path: np.savez(path, *weights))
        else:
            self.wait += 1
        logs["best_epoch"] = float(self.best_epoch)
        if self.wait >= self.patience:
            self.model.stop_training = True

    def restore_best(self) -> None:
        """Load the best epoch's weights into the network (nothing if no epoch was scored)."""
        if self.best_path.exists():
            with np.load(self.best_path) as archive:
                self.network.set_weights([archive[f"arr_{i}"] for i in range(len(archive.files))])
