"""Files that survive interruptions: atomic writes, and the resumable training state.

A run keeps two kinds of file under ``models/``: ``<name>.keras``, the network for testing and for
users, and ``<name>.state.npz``, everything needed to continue training exactly where the last
completed epoch left it: the network's variables (noise generators' states included, which Keras's
weight files omit), the optimizer's (iteration count, hence the learning-rate schedule's position,
and momenta) and the epoch. The state written before it is kept as ``<name>.state.prev.npz``, so a
corrupt latest file falls back to it.
"""

from __future__ import annotations

import errno
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


class CheckpointError(RuntimeError):
    """A checkpoint cannot be written or read; the message names the file and the fix."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)`` then rename the file to ``path``: readers see the old file or the
    complete new one, never half of one, and a failure (a full disk) leaves nothing behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so the rename is atomic; same suffix, since Keras and numpy choose formats by it.
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix="".join(path.suffixes[-1:]), dir=path.parent)
    os.close(fd)
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        hint = " Free some disk space and run the same command again." if error.errno == errno.ENOSPC else ""
        raise CheckpointError(f"could not write {path}: {error.strerror or error}.{hint}") from error
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


class TrainingState:
    """The resumable state of the run whose network lives at ``checkpoint``."""

    def __init__(self, checkpoint: str | os.PathLike):
        checkpoint = Path(checkpoint)
        self.latest = checkpoint.with_suffix(".state.npz")
        self.previous = checkpoint.with_suffix(".state.prev.npz")

    def exists(self) -> bool:
        return self.latest.exists() or self.previous.exists()

    def save(self, epoch: int, variables: Sequence) -> None:
        """Record the variables' values after ``epoch`` completed epochs."""
        arrays = {f"v{i}": np.asarray(variable.numpy()) for i, variable in enumerate(variables)}

        def write(path: str) -> None:
            with open(path, "wb") as handle:
                np.savez(handle, epoch=np.int64(epoch), **arrays)
                handle.flush()
                os.fsync(handle.fileno())

        temporary = self.latest.with_suffix(".tmp.npz")
        atomic_write(temporary, write)
        if self.latest.exists():
            os.replace(self.latest, self.previous)
        os.replace(temporary, self.latest)

    def restore(self, variables: Sequence) -> int:
        """Assign the saved values to ``variables``; returns the number of completed epochs (0 if there is
        no state). An unreadable latest file falls back, with a warning, to the previous one."""
        failures = []
        for path in (self.latest, self.previous):
            if not path.exists():
                continue
            try:
                epoch, values = self._read(path, variables)
            except CheckpointError as error:
                failures.append(str(error))
                warnings.warn(f"{error}; trying the previous checkpoint.", stacklevel=2)
                continue
            for variable, value in zip(variables, values):
                variable.assign(value)
            return epoch
        if failures:
            raise CheckpointError(" and ".join(failures) + "; start over with restart=True.")
        return 0

    def completed_epochs(self) -> int:
        """The epoch count of the latest readable state, without loading it (0 if none)."""
        for path in (self.latest, self.previous):
            try:
                with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
                    return int(archive["epoch"])
            except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError):
                continue
        return 0

    def clear(self) -> None:
        self.latest.unlink(missing_ok=True)
        self.previous.unlink(missing_ok=True)

    @staticmethod
    def _read(path: Path, variables: Sequence) -> tuple[int, list[np.ndarray]]:
        """Read and check everything before anything is assigned, so a bad file changes nothing."""
        try:
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
                epoch = int(archive["epoch"])
                values = [archive[f"v{i}"] for i in range(len(variables))]
                extra = len(archive.files) - 1 - len(variables)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as error:
            raise CheckpointError(f"{path} is unreadable ({type(error).__name__}: {error})") from error
        if extra:
            raise CheckpointError(f"{path} holds {len(variables) + extra} variables, the model {len(variables)}")
        for variable, value in zip(variables, values):
            if tuple(value.shape) != tuple(variable.shape):
                raise CheckpointError(f"{path}: {variable.path} has shape {value.shape}, the model {variable.shape}")
        return epoch, values
