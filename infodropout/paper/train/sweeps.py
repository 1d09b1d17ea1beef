"""Sweeps: one run per point (and seed), with the results kept in one JSON file rewritten after every point,
so that an interrupted sweep loses nothing and a repeated one skips what is done.

With ``jobs`` above 1 the points run at once, each in its own process: the same script and command, started
again with the sweep's config (``with <config>.json``) and told its one point through the environment
(:data:`POINT_ENV`). Such a process trains and tests its run as the sweep itself would (the same function
and values), under the run's own lock, resume and
checkpoint, writes its result to a file the sweep names (:data:`RESULT_ENV`) and exits; the sweep's own process
is the one writer of results.json. The cores are divided among the processes (TensorFlow's and OpenMP's thread
counts), and each line a point's process prints is shown prefixed by its point, ``[beta=0.5 seed=1] ...``.
With fewer threads a process sums float32 values in another order, so its run is not bit-identical to the
serial sweep's (one process, every core) and drifts from it over epochs of SGD (tools/time_jobs.py records both).
The thread count is a config entry, ``threads``: each point's process gets the cores / jobs (or ``threads`` where
set), and ``jobs=1 threads=<that share>`` gives the same numbers to the last bit, one run after another.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from infodropout.paper.errors import fail
from infodropout.paper.machine import available_cores, parallel_jobs, threads_per_job
from infodropout.paper.train.run_names import run_name

# The environment that makes a script's sweep command run one point only: the point's values (JSON) and
# the file its result goes to.
POINT_ENV = "INFODROPOUT_SWEEP_POINT"
RESULT_ENV = "INFODROPOUT_SWEEP_RESULT"

# Lines of sacred's start-up log that every point's process prints: noise once per point, so not relayed.
_STARTUP_LINES = ("INFO - Running command", "INFO - Started")


def with_seeds(points: list[dict], seeds: Sequence[int]) -> list[dict]:
    """Each sweep point once per seed, seed by seed (every point of seed 0 first, so that an interrupted
    sweep already has one whole curve). Seed 0 is every script's default, so a point at seed 0 is the
    run a single-seed sweep trained: its name has no seed in it and it is reused."""
    return [{**point, "seed": seed} for seed in seeds for point in points]


def point_label(point: Mapping) -> str:
    """``beta=0.5 seed=1``: how a point is named in the sweep's progress lines."""
    return " ".join(f"{key}={value}" for key, value in point.items())


def run_sweep(experiment: str, config: Mapping, defaults: Mapping, points: list[dict],
              run_one: Callable[[Mapping], dict]) -> tuple[list[dict], Path]:
    """Run ``run_one(config updated with point)`` for each point (e.g. ``{"beta": 0.1}``) and keep the
    results, one dict per point, in ``plots/<experiment>-sweep<values>/results.json``, rewritten after
    every point: an interrupted sweep loses nothing, and running it again skips the points already
    done (each run itself is also resumed or reused from models/). With ``config["jobs"]`` above 1 (0: one
    per core) that many points run at once, each in its own process (see the module's docstring), and
    the results are kept in the same order. Returns the results and the folder.

    In a point's own process (started by a parallel sweep) this runs that point, keeps its result and ends
    the process."""
    if os.environ.get(RESULT_ENV):
        _run_point_and_exit(config, run_one)
    swept = {key for point in points for key in point}
    name = run_name(f"{experiment}-sweep", {**config, **{key: defaults[key] for key in swept}}, defaults)
    folder = Path(config["plots_dir"]) / name
    path = folder / "results.json"
    results = read_sweep_results(path)
    # A result that lacks a key (a sweep kept before the key was swept, e.g. "seed") had its default.
    todo = [(number, point) for number, point in enumerate(points, 1)
            if not any(all(result.get(key, defaults.get(key)) == value for key, value in point.items())
                       for result in results)]
    jobs = parallel_jobs(config.get("jobs", 1), len(todo))
    if jobs > 1:
        return _run_in_processes(config, todo, len(points), results, path, jobs), folder
    for number, point in todo:
        print(f"Sweep point {number}/{len(points)}: {point_label(point)} ({len(results)} done).", flush=True)
        results.append({**point, **run_one({**config, **point})})
        _write_results(path, results)
    return results, folder


def _write_results(path: Path, results: list[dict]) -> None:
    from infodropout.paper.train.checkpoint import CheckpointError, atomic_write

    try:
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(results, indent=1) + "\n"))
    except CheckpointError as error:
        fail(f"{error} The runs trained so far are kept in the models folder: run the same command again "
             "to gather them.", status=1)


def _run_point_and_exit(config: Mapping, run_one: Callable[[Mapping], dict]) -> None:
    """A point's own process: run the point the environment names, write its result, end the process.

    It ends with ``os._exit`` once its output is flushed: returning would go on with the sweep command
    (its figures, its table), and raising would have sacred report the early end as a failure. The run's
    lock and temporary files are released by then (``run_one`` returned)."""
    from infodropout.paper.train.checkpoint import atomic_write

    point = json.loads(os.environ[POINT_ENV])
    result = {**point, **run_one({**config, **point})}
    atomic_write(Path(os.environ[RESULT_ENV]), lambda tmp: Path(tmp).write_text(json.dumps(result) + "\n"))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _command_line() -> tuple[str, str]:
    """The running script (absolute) and its sacred command, from ``sys.argv``: the command is the first
    word after the script (sacred wants it before ``with`` and the options)."""
    script = os.path.abspath(sys.argv[0])
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if command is None or command == "with":
        fail("jobs above 1 needs the sweep's command on the command line (e.g. `sweep with ... jobs=2`).")
    return script, command


class _Point:
    """One point running in its own process, its output relayed line by line with its label."""

    def __init__(self, number: int, point: dict, argv: list[str], env: dict, result: Path, out: TextIO,
                 lock: threading.Lock):
        self.number, self.point, self.result = number, point, result
        self.label = point_label(point)
        self.last_line = ""
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        bufsize=1, errors="replace")
        self.relay = threading.Thread(target=self._relay, args=(out, lock), daemon=True)
        self.relay.start()

    def _relay(self, out: TextIO, lock: threading.Lock) -> None:
        for line in self.process.stdout:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith(_STARTUP_LINES):
                continue
            self.last_line = line
            with lock:
                out.write(f"[{self.label}] {line}\n")
                out.flush()


def _run_in_processes(config: Mapping, todo: list[tuple[int, dict]], total: int, results: list[dict], path: Path,
                      jobs: int) -> list[dict]:
    """Run the points of ``todo`` ``jobs`` at a time, each in its own process; add each result to
    ``results`` (the points' order kept) and rewrite ``path`` as each one ends. A point that fails does not
    stop the others; the sweep then ends with one line naming each failed point and its last line."""
    script, command = _command_line()
    cores = available_cores()
    threads = config.get("threads") or threads_per_job(jobs, cores)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The points' config and results in a private folder of the system's: its path has no "=", which sacred
    # would read as a config entry after `with` (the sweep's folder name has them).
    scratch = Path(tempfile.mkdtemp(prefix="infodropout-sweep-"))
    # The sweep's own config for every point's process; progress bars do not read through a pipe, so one
    # line per epoch (verbose=2) unless the user asked for silence.
    # The thread count goes into the config too, so that `jobs=1 threads=<share>` repeats a point's numbers.
    child_config = {**config, "jobs": 1, "threads": threads, "verbose": 0 if config.get("verbose") == 0 else 2}
    config_file = scratch / "config.json"
    config_file.write_text(json.dumps(child_config))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(threads),
           "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)}
    print(f"Sweep: {len(todo)} of {total} points to run, {jobs} at a time, {threads} thread(s) each "
          f"({cores} cores); {len(results)} done before.", flush=True)
    lock = threading.Lock()
    pending, running, new, failed = list(todo), [], {}, []
    kept = list(results)
    # SIGTERM (a scheduler's stop) ends the sweep as Ctrl-C does: the points' processes are told to stop
    # after their current batch, rather than left running without the process that gathers their results.
    previous_term = signal.signal(signal.SIGTERM, _interrupt) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        while pending or running:
            while pending and len(running) < jobs:
                number, point = pending.pop(0)
                result = scratch / f"point-{number}.json"
                result.unlink(missing_ok=True)
                with lock:
                    print(f"Sweep point {number}/{total}: {point_label(point)} (started; {len(kept)} done).",
                          flush=True)
                running.append(_Point(number, point, [sys.executable, script, command, "with", str(config_file)],
                                      {**env, POINT_ENV: json.dumps(point), RESULT_ENV: str(result)},
                                      result, sys.stdout, lock))
            time.sleep(0.2)
            for job in [job for job in running if job.process.poll() is not None]:
                running.remove(job)
                job.relay.join()
                status = job.process.returncode
                if status == 0 and job.result.exists():
                    new[job.number] = json.loads(job.result.read_text())
                    kept = results + [new[number] for number in sorted(new)]
                    _write_results(path, kept)
                elif status in (130, -2):
                    raise KeyboardInterrupt
                else:
                    failed.append((job, status))
    except KeyboardInterrupt:
        _stop(running)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    if failed:
        fail(f"{len(failed)} of {len(todo)} sweep points failed: "
             + "; ".join(f"[{job.label}] {job.last_line or f'exit {status}'}" for job, status in failed)
             + f". The {len(new)} that ended are kept in {path}; run the same command again to retry the others.",
             status=1)
    return kept


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(running: list[_Point]) -> None:
    """Ctrl-C or SIGTERM: each point's process is sent SIGTERM, which stops a training run after its current
    batch, keeping its last completed epoch, and ends a process that is not training at once (its files are
    written atomically, and a dead process's lock is taken over). SIGTERM, not SIGINT: a process started
    in the background may ignore SIGINT outside training."""
    for job in running:
        if job.process.poll() is None:
            job.process.send_signal(signal.SIGTERM)
    for job in running:
        try:
            job.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            job.process.kill()
            job.process.wait()
        job.relay.join(timeout=5)


def read_sweep_results(path: Path) -> list[dict]:
    """The results a sweep kept in ``path`` (empty if there is none); a file that is not a JSON list of
    records (truncated, edited) ends the program with one line saying how to recover."""
    if not path.exists():
        return []
    try:
        results = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        results = error
    if not isinstance(results, list) or not all(isinstance(result, dict) for result in results):
        detail = f" ({results})" if isinstance(results, Exception) else ""
        fail(f"{path} is not a sweep's list of results{detail}: delete it and run the same command again (its "
             "trained runs are reused from the models folder, so only their testing is repeated).", status=1)
    return results
