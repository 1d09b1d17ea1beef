"""Sweeps: one run per point (and seed), with the results kept in one JSON file rewritten after every point,
so that an interrupted sweep loses nothing and a repeated one skips what is done.

Every point runs in a fresh process of its own (multiprocessing's ``spawn``: a new interpreter, never a fork of the
sweep's, so that no point inherits another's TensorFlow state, and each run's memory, its network, its data and
TensorFlow's graphs, is given back when it ends rather than held until the sweep ends). The process is handed two
Python objects: the point's config (the experiment's typed config, the sweep's with the point's values and its
share of the machine) and the experiment's point function (:class:`PointFunction`). It calls the function, which
trains and tests the point's run as a sweep in one process would (the same function and values), under the run's
own lock, resume and checkpoint, and sends its result back; nothing is parsed from a command line or a file. The
sweep's own process is the one writer of results.json.

How many processes run at once and how many threads each uses are decided once, when the sweep starts
(:func:`infodropout.paper.machine.parallel_jobs` and :func:`~infodropout.paper.machine.threads_per_job`). With
``jobs`` at 1 the points run one after another, each with the sweep's own config, threads included (0: every core),
on the sweep's own terminal: the numbers of the same runs in the sweep's own process, to the last bit, and a failed
point ends the sweep with its own line and status. With ``jobs`` above 1 that many run at once: the cores are divided
among the processes (TensorFlow's and OpenMP's thread counts, in each process's environment from its start, before
TensorFlow is imported), each line a point's process prints is shown prefixed by its point,
``[beta=0.5 seed=1] ...``, and a failed point does not stop the others.
With fewer threads a process sums float32 values in another order, so its run is not bit-identical to the
serial sweep's (every core) and drifts from it over epochs of SGD (tools/time_jobs.py records both).
The thread count is a config entry, ``threads``: each point's process gets the cores / jobs (or ``threads`` where
set), and ``jobs=1 threads=<that share>`` gives the same numbers to the last bit, one run after another.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from infodropout.paper.errors import CommandFailed, fail
from infodropout.paper.machine import available_cores, parallel_jobs, set_threads, threads_per_job
from infodropout.paper.train.run_names import run_name

# A fresh interpreter per point, whatever the platform's default start method (a fork would copy the sweep's state).
_PROCESSES = multiprocessing.get_context("spawn")

# How long a point's process has to stop after SIGTERM (its current compiled call, then its files) before it is killed.
_STOP_SECONDS = 120


class SweepConfig(Protocol):
    """What a sweep needs of an experiment's config (:class:`infodropout.paper.configs.base.ExperimentConfig`): its
    values as a mapping, and a validated copy with some of them changed."""

    def __getitem__(self, key: str) -> Any: ...

    def replace(self, **changes: Any) -> "SweepConfig": ...


@dataclass(frozen=True)
class PointFunction:
    """An experiment's per-point function (a function of the point's whole config that returns its results), named
    by its module and its name there, which a point's fresh process imports: the experiment's module may be the
    sweep's ``__main__``, and a function made inside another (a probe's) pickles by neither."""

    module: str
    name: str

    def load(self) -> Callable[[Any], dict]:
        return getattr(importlib.import_module(self.module), self.name)


class _Outcome(NamedTuple):
    """What a point's process sends back: its result, or why it has none (the message a command would end with, and
    its exit status)."""

    result: dict | None
    message: str = ""
    status: int = 0


def with_seeds(points: list[dict], seeds: Sequence[int]) -> list[dict]:
    """Each sweep point once per seed, seed by seed (every point of seed 0 first, so that an interrupted
    sweep already has one whole curve). Seed 0 is every script's default, so a point at seed 0 is the
    run a single-seed sweep trained: its name has no seed in it and it is reused."""
    return [{**point, "seed": seed} for seed in seeds for point in points]


def point_label(point: Mapping) -> str:
    """``beta=0.5 seed=1``: how a point is named in the sweep's progress lines."""
    return " ".join(f"{key}={value}" for key, value in point.items())


def run_sweep(experiment: str, config: SweepConfig, defaults: Mapping, points: list[dict],
              function: PointFunction) -> tuple[list[dict], Path]:
    """Run ``function`` for each point (e.g. ``{"beta": 0.1}``), each in a process of its own, on the sweep's
    ``config`` (the experiment's typed config) updated with the point, and keep the results, one dict per point, in
    ``plots/<experiment>-sweep<values>/results.json``, rewritten after every point: an interrupted sweep loses
    nothing, and running it again skips the points already done (each run itself is also resumed or reused from
    models/). With ``config["jobs"]`` above 1 (0: one per core) that many points run at once (see the module's
    docstring), and the results are kept in the same order. Returns the results and the folder."""
    swept = {key for point in points for key in point}
    name = run_name(f"{experiment}-sweep", {**config, **{key: defaults[key] for key in swept}}, defaults)
    folder = Path(config["plots_dir"]) / name
    path = folder / "results.json"
    results = read_sweep_results(path)
    # A result that lacks a key (a sweep kept before the key was swept, e.g. "seed") had its default.
    todo = [(number, point) for number, point in enumerate(points, 1)
            if not any(all(result.get(key, defaults.get(key)) == value for key, value in point.items())
                       for result in results)]
    if not todo:
        return results, folder
    # The machine's share, decided once for every point.
    jobs = parallel_jobs(config["jobs"], len(todo))
    if jobs > 1:
        threads = config["threads"] or threads_per_job(jobs)
        # Progress bars do not read through a pipe, so one line per epoch (verbose=2) unless the user asked for
        # silence. The thread count goes into the config too, so that `jobs=1 threads=<share>` repeats a point's
        # numbers.
        shared = {"jobs": 1, "threads": threads, "verbose": 0 if config["verbose"] == 0 else 2}
        print(f"Sweep: {len(todo)} of {len(points)} points to run, {jobs} at a time, {threads} thread(s) each "
              f"({available_cores()} cores); {len(results)} done before.", flush=True)
    else:
        # The sweep's own threads and verbosity: each point computes what it computed in the sweep's process.
        threads, shared = None, {"jobs": 1}
    configs = {number: _point_config(config, point, shared) for number, point in todo}
    return _run_in_processes(function, configs, todo, len(points), results, path, jobs, threads), folder


def _point_config(config: SweepConfig, point: dict, shared: dict) -> SweepConfig:
    """The config a point's process is handed: the sweep's, with its share of the machine and the point's values."""
    try:
        return config.replace(**{**shared, **point})
    except ValueError as error:
        fail(f"sweep point [{point_label(point)}]: {error}")


def _write_results(path: Path, results: list[dict]) -> None:
    from infodropout.paper.train.checkpoint import CheckpointError, atomic_write

    try:
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(results, indent=1) + "\n"))
    except CheckpointError as error:
        fail(f"{error} The runs trained so far are kept in the models folder: run the same command again "
             "to gather them.", status=1)


def _point_process(function: PointFunction, config: SweepConfig, results: Connection,
                   output: Connection | None) -> None:
    """A point's process: ``function`` on ``config``, its outcome sent on ``results``, its exit status the one the
    command would have ended with. ``output``, at once with other points: where its stdout and stderr go (the sweep
    prefixes each line), TensorFlow's C++ lines included."""
    if output is not None:
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
        output.close()
    try:
        if config["threads"] > 0:  # before the function's first TensorFlow op, as a script does for its command
            set_threads(config["threads"])
        outcome = _Outcome(function.load()(config))
    except CommandFailed as failure:
        outcome = _Outcome(None, failure.message, failure.code)
    except KeyboardInterrupt:
        outcome = _Outcome(None, "interrupted; nothing half-written was kept (a training run resumes after its last "
                                  "completed epoch).", 130)
    except Exception as error:  # a bug: its traceback, and its last line for the sweep to name
        traceback.print_exc()
        outcome = _Outcome(None, f"{type(error).__name__}: {error}", 1)
    sys.stdout.flush()
    sys.stderr.flush()
    results.send(outcome)
    results.close()
    sys.exit(outcome.status)


@contextlib.contextmanager
def _environment(updates: Mapping[str, str]) -> Iterator[None]:
    """``updates`` in this process's environment while inside: a process spawned there starts with them (spawn
    takes no environment of its own)."""
    saved = {key: os.environ.get(key) for key in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Point:
    """One point running in its own process. At once with others (``prefixed``), its output is relayed line by
    line with its label; one after another, it writes to the sweep's own output."""

    def __init__(self, number: int, point: dict, config: SweepConfig, function: PointFunction, threads: int | None,
                 lock: threading.Lock, prefixed: bool):
        self.number, self.point, self.label, self.prefixed = number, point, point_label(point), prefixed
        self.outcome: _Outcome | None = None
        self.results, sender = _PROCESSES.Pipe(duplex=False)
        reader, output = _PROCESSES.Pipe(duplex=False) if prefixed else (None, None)
        self.process = _PROCESSES.Process(target=_point_process, args=(function, config, sender, output),
                                          name=f"sweep point {self.label}")
        # Unbuffered output, so that each line reaches the sweep as it is printed; where the points share the
        # cores, each one's thread count, read by TensorFlow and OpenMP when they start.
        environment = {"PYTHONUNBUFFERED": "1"}
        if threads is not None:
            environment.update(OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
                               TF_NUM_INTEROP_THREADS=str(threads))
        with _environment(environment):
            self.process.start()
        sender.close()  # the process's copy is its own: its end reads as the end of the pipe here
        self.relay = None
        if reader is not None:
            output.close()
            stream = open(os.dup(reader.fileno()), encoding="utf-8", errors="replace")
            reader.close()
            self.relay = threading.Thread(target=self._relay, args=(stream, lock), daemon=True)
            self.relay.start()

    def _relay(self, stream, lock: threading.Lock) -> None:
        with stream:
            for line in stream:
                line = line.rstrip("\n")
                if line.strip():
                    with lock:
                        sys.stdout.write(f"[{self.label}] {line}\n")
                        sys.stdout.flush()

    def receive(self) -> None:
        """The outcome, where the process has sent it (or ended without it)."""
        if self.results.closed or not self.results.poll():
            return
        try:
            self.outcome = self.results.recv()
        except EOFError:
            pass
        self.results.close()

    def end(self, timeout: float | None = None) -> None:
        """Wait for the process (killed after ``timeout``), its outcome and its last lines."""
        self.process.join(timeout)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self.receive()
        if self.relay is not None:
            self.relay.join(timeout=5)

    @property
    def status(self) -> int:
        """The point's exit status: the command's (130: interrupted), or minus the signal that ended it."""
        return self.outcome.status if self.outcome is not None else self.process.exitcode

    def message(self) -> str:
        """Why the point has no result: its own message, or how its process ended."""
        if self.outcome is not None and self.outcome.message:
            return self.outcome.message
        status = self.process.exitcode
        return f"exit {status}" if status > 0 else f"signal {-status}" if status < 0 else "no result sent"


def _run_in_processes(function: PointFunction, configs: dict[int, SweepConfig], todo: list[tuple[int, dict]],
                      total: int, results: list[dict], path: Path, jobs: int, threads: int | None) -> list[dict]:
    """Run the points of ``todo`` (each with its config of ``configs``) ``jobs`` at a time, each in its own process
    (``threads`` per process where they share the cores); add each result to ``results`` (the points' order kept)
    and rewrite ``path`` as each one ends. At once, a point that fails does not stop the others; the sweep then ends
    with one line naming each failed point and its message. One after another, a point that fails ends the sweep
    with its own line and status, as it did in the sweep's process."""
    parallel = jobs > 1
    path.parent.mkdir(parents=True, exist_ok=True)
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
                with lock:
                    done = f"started; {len(kept)} done" if parallel else f"{len(kept)} done"
                    print(f"Sweep point {number}/{total}: {point_label(point)} ({done}).", flush=True)
                running.append(_Point(number, point, configs[number], function, threads, lock, prefixed=parallel))
            # Until a process ends or sends its outcome (read at once: a full pipe would hold its process).
            wait([job.process.sentinel for job in running] + [job.results for job in running if not job.results.closed])
            for job in running:
                job.receive()
            for job in [job for job in running if job.process.exitcode is not None]:
                running.remove(job)
                job.end()
                if job.outcome is not None and job.outcome.result is not None:
                    # Through JSON, as results.json keeps it: a sweep run now and one read back give the same rows.
                    new[job.number] = json.loads(json.dumps({**job.point, **job.outcome.result}))
                    kept = results + [new[number] for number in sorted(new)]
                    _write_results(path, kept)
                elif job.status in (130, -signal.SIGINT):
                    _say_stopped(job)
                    raise KeyboardInterrupt
                elif parallel:
                    failed.append(job)
                else:
                    _serial_failure(job, path)
    except KeyboardInterrupt:
        _stop(running)
        raise
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
    if failed:
        fail(f"{len(failed)} of {len(todo)} sweep points failed: "
             + "; ".join(f"[{job.label}] {job.message()}" for job in failed)
             + f". The {len(new)} that ended are kept in {path}; run the same command again to retry the others.",
             status=1)
    return kept


def _serial_failure(job: _Point, path: Path) -> None:
    """One after another, a point that failed ends the sweep with the point's own message and status (said by the
    sweep's process, as when the point ran there)."""
    if job.outcome is not None and job.outcome.message:
        fail(job.outcome.message, status=job.outcome.status)
    fail(f"sweep point [{job.label}] ended ({job.message()}) without a message; the points before it are kept in "
         f"{path}: run the same command again to go on.", status=1)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _say_stopped(job: _Point) -> None:
    """What a stopped point kept (its message: the last completed epoch), said by the sweep."""
    if job.outcome is not None and job.outcome.message:
        print(f"[{job.label}] {job.outcome.message}", file=sys.stderr, flush=True)


def _stop(running: list[_Point]) -> None:
    """Ctrl-C or SIGTERM: each point's process is sent SIGTERM, which stops a training run after its current
    batch, keeping its last completed epoch, and ends a process that is not training at once (its files are
    written atomically, and a dead process's lock is taken over). SIGTERM, not SIGINT: a process started
    in the background may ignore SIGINT outside training."""
    for job in running:
        if job.process.exitcode is None:
            job.process.terminate()
    for job in running:
        job.end(timeout=_STOP_SECONDS)
        _say_stopped(job)


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
