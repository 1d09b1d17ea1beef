"""The error every data reader raises, and the progress stream they write to."""

from __future__ import annotations

import sys
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
