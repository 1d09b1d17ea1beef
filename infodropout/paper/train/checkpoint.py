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
import json
import os
import re
import secrets
import socket
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be written or read; the message names the file and the fix."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)`` then rename the file to ``path``: readers see the old file or the
    complete new one, never half of one, and a failure (a full disk, Ctrl-C) leaves nothing behind.

    The temporary file is created with mode 0o666 less the umask, as ``open`` would create ``path``
    (``tempfile.mkstemp`` forces 0o600, which made every checkpoint private whatever the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        write(str(temporary))
        os.replace(temporary, path)
    except OSError as error:
        hint = " Free some disk space and run the same command again." if error.errno == errno.ENOSPC else ""
        raise CheckpointError(f"could not write {path}: {error.strerror or error}.{hint}") from error
    finally:
        temporary.unlink(missing_ok=True)


def temporary_path(path: Path) -> Path:
    """A new hidden name beside ``path`` for its atomic write: same folder, so that the rename is
    atomic; same last suffix, since Keras and numpy choose formats by it. :func:`remove_temporaries`
    recognises these names."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TEMPORARY_MARK}{''.join(path.suffixes[-1:])}")


TEMPORARY_MARK = ".partial"


def remove_temporaries(checkpoint: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a killed run on ``checkpoint`` left beside it (a SIGKILL runs
    no ``finally``); returns them. Call it only while holding the run's :class:`RunLock`, so that no
    live process is writing them. Only this run's own names are matched, not those of a run whose
    name merely begins the same way."""
    checkpoint = Path(checkpoint)
    stem = checkpoint.name[:-len(".keras")] if checkpoint.name.endswith(".keras") else checkpoint.stem
    targets = [checkpoint.name, *(f"{stem}{suffix}" for suffix in (".state.tmp.npz", ".history.jsonl",
                                                                   ".state.npz", ".state.prev.npz"))]
    pattern = re.compile(r"\.(" + "|".join(map(re.escape, targets)) + r")\.[0-9a-f]{12}"
                         + re.escape(TEMPORARY_MARK) + r"(\.[a-z]+)?$")
    removed = []
    folder = checkpoint.parent
    leftovers = [folder / f"{stem}.state.tmp.npz"]  # TrainingState.save's staging name
    if folder.is_dir():
        leftovers += [entry for entry in folder.iterdir() if pattern.match(entry.name)]
    for leftover in leftovers:
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


class RunLocked(RuntimeError):
    """Another live process is training the same run; the message names it."""


class RunLock:
    """One process per run: ``<name>.lock`` beside the checkpoint, created with ``O_CREAT | O_EXCL``
    (atomic on local file systems and on NFS v3 and later), holding the holder's pid, host and start.

    A second process refuses at once (:class:`RunLocked`). A lock whose holder is a dead process on
    this host is taken over; one held from another host cannot be checked and is reported with the
    command that removes it, to be used once that run is known to have ended.
    """

    def __init__(self, checkpoint: str | os.PathLike):
        checkpoint = Path(checkpoint)
        self.path = checkpoint.with_name(checkpoint.name.removesuffix(".keras") + ".lock")
        self.held = False

    def acquire(self) -> None:
        """Take the lock, or raise :class:`RunLocked` (another live process holds it) or
        :class:`CheckpointError` (the folder cannot be written: read-only, full, not ours)."""
        text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")})
        # The lock appears complete or not at all: written under a private name, then hard-linked to
        # the lock's name, which fails if it exists (atomic, also on NFS).
        staging = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}{TEMPORARY_MARK}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staging.write_text(text)
            self._take(staging)
        except OSError as error:
            hint = "free some disk space" if error.errno == errno.ENOSPC else \
                "give a writable folder (models_dir=...) or make this one writable"
            raise CheckpointError(f"could not create the run's lock {self.path}: {error.strerror or error}; {hint}, "
                                  "then run the same command again.") from error
        finally:
            try:
                staging.unlink(missing_ok=True)
            except OSError:
                pass  # never created (a read-only folder)

    def _take(self, staging: Path) -> None:
        for _ in range(3):  # a stale lock removed, or one released between our two looks, is tried again
            try:
                os.link(staging, self.path)
            except FileExistsError:
                holder = self.holder()
                if holder is not None and not self._dead(holder):
                    raise RunLocked(
                        f"{self.path.with_suffix('.keras').name} is being trained by process {holder.get('pid')} "
                        f"on {holder.get('host')} since {holder.get('since')}: wait for it to end, or stop it; if "
                        f"it has ended without removing its lock, delete {self.path}.") from None
                self.path.unlink(missing_ok=True)  # the holder is dead: take the lock over
                continue
            self.held = True
            return
        raise RunLocked(f"could not take {self.path}: other processes keep taking it; try again.")

    def holder(self) -> dict | None:
        """What the lock file says of its holder; None if it is gone or unreadable."""
        try:
            holder = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    @staticmethod
    def _dead(holder: dict) -> bool:
        if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
            return False  # another machine's process cannot be checked: assume it runs
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's
            return False
        return False

    def busy(self) -> bool:
        """Whether another process holds the lock and may still be running (a dead holder's lock is free)."""
        holder = self.holder()
        return holder is not None and not self._dead(holder)

    def check_held(self) -> None:
        """Raise :class:`CheckpointError` unless the lock file is still ours: a folder deleted or a lock removed
        while the run trained would otherwise be written anew, without its lock (a second process could then
        train the same run) and without the run's record beside it."""
        holder = self.holder()
        if holder is None or holder.get("pid") != os.getpid() or holder.get("host") != socket.gethostname():
            gone = "was deleted" if not self.path.parent.is_dir() else f"lost its lock {self.path.name}"
            self.held = False
            raise CheckpointError(
                f"{self.path.parent} {gone} while this run trained, so nothing more is saved there (a new folder "
                "would have no lock and no record of the run); run the same command again to train it anew.")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def wait_while_locked(checkpoint: str | os.PathLike, attempt: Callable[[], T], poll_s: float = 5.0,
                      timeout_s: float = 6 * 3600) -> T:
    """``attempt()``, which trains or reuses the run at ``checkpoint``, once no other process holds that run's
    lock: for a run that several processes share on purpose (an untrained network's probe, one per seed,
    reused by every β of a sweep whose points run at once), the later ones wait for the first to finish and
    then reuse its result, instead of failing. A lock still held after ``timeout_s`` is :class:`RunLocked`."""
    lock = RunLock(checkpoint)
    deadline = time.monotonic() + timeout_s
    said = False
    while True:
        if lock.busy():
            if time.monotonic() > deadline:
                raise RunLocked(f"{lock.path} was still held after {timeout_s:.0f} s of waiting: {lock.holder()}")
            if not said:
                print(f"Waiting for another process to finish {Path(checkpoint).name}, to reuse it.", flush=True)
                said = True
            time.sleep(poll_s)
            continue
        try:
            return attempt()
        except RunLocked:
            if not lock.busy():
                raise  # another run's lock: nothing to wait for here
            # taken between our look and our try: wait for that process instead


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
                if path == self.latest and self.previous.exists():
                    warnings.warn(f"{error}; trying the state before it, {self.previous.name}.", stacklevel=2)
                continue
            for variable, value in zip(variables, values):
                variable.assign(value)
            return epoch
        if failures:
            raise CheckpointError(" and ".join(failures) + "; no state to resume from is left: start over with "
                                  "restart=True.")
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
        except KeyError as error:
            raise CheckpointError(f"{path} is incomplete: it lacks {error}") from error
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            # numpy reads bytes that are not a zip archive as a pickle, and refuses that ("allow_pickle"): say what
            # the file is, not what numpy would need to read it.
            size = path.stat().st_size if path.exists() else 0
            raise CheckpointError(f"{path} is corrupt ({size:,} bytes that are not a complete state archive, as a "
                                  "copy cut short or overwritten leaves)") from error
        if extra:
            raise CheckpointError(f"{path} holds {len(variables) + extra} variables, the model {len(variables)}")
        for variable, value in zip(variables, values):
            if tuple(value.shape) != tuple(variable.shape):
                raise CheckpointError(f"{path}: {variable.path} has shape {value.shape}, the model {variable.shape}")
        return epoch, values


def read_history(path: str | os.PathLike) -> list[dict]:
    """The per-epoch records of a history file (empty if there is none); a file that is not one
    record per epoch from epoch 1 on is a :class:`CheckpointError` naming it."""
    records, problem = _history_prefix(Path(path))
    if problem:
        raise CheckpointError(f"{path} is corrupt ({problem}); train again with restart=True.")
    return records


def _history_prefix(path: Path) -> tuple[list[dict], str | None]:
    """The longest run of valid records (a JSON object per line, epochs 1, 2, ... in order) at the
    start of ``path``, and what is wrong after it (None if nothing)."""
    if not path.exists():
        return [], None
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        return [], f"unreadable: {error}"
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            return records, f"line {number} is not a JSON record"
        if not isinstance(record, dict) or record.get("epoch") != len(records) + 1:
            return records, f"line {number} is not the record of epoch {len(records) + 1}"
        records.append(record)
    return records, None


def resumable_history(path: Path, completed: int, state: Path) -> list[dict]:
    """The history's records of the ``completed`` epochs that the state holds. Records beyond them (an
    epoch written to the history but not to the state, or a torn line after them) are dropped; fewer
    valid records than epochs (a history deleted, emptied, cut short or corrupt) cannot be rebuilt,
    since the metrics of those epochs are gone, so the run is refused in one line."""
    records, problem = _history_prefix(path)
    if len(records) >= completed:
        return records[:completed]
    why = problem or ("missing" if not path.exists() else f"it holds {len(records)} epochs")
    raise CheckpointError(
        f"{path} does not match {state}, which has {completed} completed epochs ({why}): the records of the "
        "missing epochs cannot be rebuilt. Put the history back, or start over with restart=True.")
