"""Stopping a training run on request: SIGINT (Ctrl-C) and SIGTERM are noticed the moment they arrive, even while
TensorFlow runs a compiled call, and a second Ctrl-C ends the process at once.

Python runs a signal handler only between two bytecodes of the main thread, so a handler alone would wait for the
compiled call in progress (up to a few seconds, see ``trainer.steps_per_call``). Here the C-level handler writes
the signal's number to a pipe (``signal.set_wakeup_fd``) that a watcher thread reads: it records the request at
once, says what will happen, and on a second SIGINT exits without waiting. Nothing a run keeps is lost by that
exit: every file of a checkpoint is replaced whole (``checkpoint.atomic_write``), so the last completed epoch's
files stay as they were, and a resumed run removes what the exit left half-written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

# The exit status of a process ended by SIGINT, as a shell reports it.
SIGINT_STATUS = 128 + signal.SIGINT


@contextlib.contextmanager
def interrupt_requests(received: list[str] | None = None,
                       notice: Callable[[], str] = str) -> Iterator[list[str]]:
    """While inside, SIGINT and SIGTERM are appended by name to ``received`` (a new list if None; yielded) as they
    arrive (the training loop checks it after each compiled call and stops), instead of killing the process
    mid-write; ``notice()`` is printed to stderr at the first one (what the stop will keep). A second SIGINT ends the
    process at once with status 130.

    Outside the main thread, where no handler can be installed, the list stays empty."""
    received = [] if received is None else received
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def watch() -> None:
        while data := os.read(read_end, 64):
            for number in data:
                name = signal.Signals(number).name
                received.append(name)
                if name == "SIGINT" and received.count("SIGINT") >= 2:
                    _say("Second SIGINT: stopping now; the last completed epoch's files are kept.")
                    os._exit(SIGINT_STATUS)
                if len(received) == 1:
                    _say(f"{name}: stopping after the current compiled call. {notice()}".rstrip()
                         + (" Ctrl-C again stops at once." if name == "SIGINT" else ""))

    def record_nothing(signum, frame) -> None:
        """A Python handler must be set for the C handler to write to the pipe; the watcher does the rest."""

    previous = {sig: signal.signal(sig, record_nothing) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="interrupt-watcher", daemon=True)
    watcher.start()
    try:
        yield received
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, old in previous.items():
            signal.signal(sig, old)
        os.close(write_end)  # the watcher reads the end of the pipe and returns
        watcher.join()
        os.close(read_end)


def _say(line: str) -> None:
    print(f"\n{line}", file=sys.stderr, flush=True)
