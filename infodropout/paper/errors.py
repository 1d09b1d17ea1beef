"""The errors of the harness: the one every data reader raises, with the progress stream the readers write
to and the removal of the temporary files a killed writer left, and :func:`fail`, which ends a command with one
line and an exit status."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import TextIO


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of each write.

    The default progress stream of the loaders. A default of ``sys.stderr`` itself would be bound
    when the module is imported and ignore later redirections (``contextlib.redirect_stderr``,
    pytest's capture).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


STDERR: TextIO = _CurrentStderr()  # type: ignore[assignment]


class DataError(ValueError):
    """A data file is missing, incomplete or malformed; the message names the file and the fix."""


def remove_stale_partials(folder: str | os.PathLike, name: str, suffix: str) -> list[Path]:
    """Delete the temporary files (or folders) ``.<name>.<pid>.<32 hex digits><suffix>`` in ``folder``
    whose process no longer runs: what a download, an extraction or an archive write leaves when it
    is killed (SIGKILL runs no cleanup). A live process's files, here or of this process, are kept.
    Returns what was removed.

    The pid is checked on this machine only; a folder shared with another machine that is writing
    the same file at the same moment is not supported (its partial file could be removed)."""
    folder = Path(folder)
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{32}" + re.escape(suffix) + "$")
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = pattern.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's live process (or a pid we cannot check): keep its files
    return True


class CommandFailed(SystemExit):
    """Ends a command with a one-line message and an exit status (see :func:`run_experiment`)."""

    def __init__(self, message: str, status: int):
        super().__init__(status)
        self.message = message


def fail(message: str, status: int = 2) -> None:
    """End the command with one line on stderr, naming the cause and the fix, and exit ``status``."""
    raise CommandFailed(message, status)
