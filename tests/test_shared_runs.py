"""A run that several processes share on purpose (the untrained network's nuisance probe, one per seed, reused by
every β of a sweep whose points run at once): the later processes wait for the first and then reuse its result."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from infodropout.paper.train.checkpoint import RunLock, RunLocked, wait_while_locked


def hold(lock: RunLock, pid: int) -> None:
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    lock.path.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "since": "now"}))


def test_the_attempt_waits_until_the_holder_has_ended(tmp_path):
    checkpoint = tmp_path / "probe-random.keras"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    # Reaped as soon as it exits, as a sweep's sibling process is by the sweep (an unreaped child stays a zombie,
    # which looks alive).
    reaper = threading.Thread(target=holder.wait)
    reaper.start()
    hold(RunLock(checkpoint), holder.pid)
    calls = []
    started = time.monotonic()
    try:
        result = wait_while_locked(checkpoint, lambda: calls.append(holder.returncode) or "reused", poll_s=0.05,
                                   timeout_s=60)
    finally:
        reaper.join()
    assert result == "reused"
    assert calls == [0]  # one attempt, made after the holder had exited
    assert time.monotonic() - started >= 0.9


def test_a_lock_held_past_the_timeout_is_refused_without_an_attempt(tmp_path):
    checkpoint = tmp_path / "probe-random.keras"
    hold(RunLock(checkpoint), os.getpid())  # this process: alive for the whole test
    calls = []
    with pytest.raises(RunLocked, match="still held after"):
        wait_while_locked(checkpoint, lambda: calls.append(1), poll_s=0.05, timeout_s=0.2)
    assert calls == []


def test_another_runs_lock_is_not_waited_for(tmp_path):
    def attempt():
        raise RunLocked("network.keras is being trained by process 1")

    with pytest.raises(RunLocked, match="network.keras"):
        wait_while_locked(tmp_path / "probe-random.keras", attempt, poll_s=0.05, timeout_s=5)


def test_a_dead_holders_lock_is_free(tmp_path):
    checkpoint = tmp_path / "probe-random.keras"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    hold(RunLock(checkpoint), gone.pid)
    assert not RunLock(checkpoint).busy()
    assert wait_while_locked(checkpoint, lambda: 7, poll_s=0.05, timeout_s=1) == 7
