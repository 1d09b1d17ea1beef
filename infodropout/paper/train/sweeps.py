"""Sweeps: one run per point (and seed), with the results kept in one JSON file rewritten after every point,
so that an interrupted sweep loses nothing and a repeated one skips what is done.

Every point runs in its own process, as an explicit command of its experiment (:class:`PointCommand`):
``python -m <module> sweep_point with <config>.json function=<name> point=<file> result=<file>``. The experiment's
function of that name (one of its POINT_FUNCTIONS, run by the sweep_point command of its command line) trains and
tests the point's run as a sweep in one process did (the same function and values), under the run's own lock,
resume and checkpoint, and :func:`run_point` writes its result to the file the sweep named; the sweep's own
process is the one writer of results.json. A process per point also gives each run's memory back (its network, its data, TensorFlow's graphs)
when it ends, rather than holding every run's until the sweep ends.

With ``jobs`` at 1 the points run one after another, each with the sweep's own config, threads included (0: every
core), on the sweep's own terminal: the numbers of the same runs in the sweep's own process, to the last bit, and a
failed point ends the sweep with its own line and status. With ``jobs`` above 1 that many run at once: the cores are
divided among the processes (TensorFlow's and OpenMP's thread counts), each line a point's process prints is shown
prefixed by its point, ``[beta=0.5 seed=1] ...``, and a failed point does not stop the others.
With fewer threads a process sums float32 values in another order, so its run is not bit-identical to the
serial sweep's (every core) and drifts from it over epochs of SGD (tools/time_jobs.py records both).
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
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from infodropout.paper.errors import fail
from infodropout.paper.machine import available_cores, parallel_jobs, threads_per_job
from infodropout.paper.paths import REPO_ROOT
from infodropout.paper.train.run_names import run_name

# The experiments' command that runs one point, and the entries it is given beside the sweep's config: the name of
# the per-point function, the file of the point's values (JSON) and the file its result goes to.
POINT_COMMAND = "sweep_point"
POINT_KEYS = ("function", "point", "result")

# Lines of sacred's start-up log that every point's process prints: noise once per point, so not relayed. One after
# another, its end too: the sweep's own lines frame each point, as when the points ran in the sweep's process.
_STARTUP_LINES = ("INFO - Running command", "INFO - Started")
_SERIAL_QUIET_LINES = _STARTUP_LINES + ("INFO - Completed after", "ERROR - Failed after")

# The folder that holds the package, which a point's process must import whatever its working folder.


@dataclass(frozen=True)
class PointCommand:
    """How a sweep runs one of its points: the experiment's module (run with ``python -m``) and the name its
    per-point function is registered under (a function of the point's whole config that returns its results)."""

    module: str
    function: str

    def argv(self, config_file: Path, point_file: Path, result_file: Path) -> list[str]:
        """The point's process: the sweep's config from ``config_file``, the point's values from ``point_file``."""
        return [sys.executable, "-m", self.module, POINT_COMMAND, "with", str(config_file),
                f"function={self.function}", f"point={point_file}", f"result={result_file}"]


def run_point(function: Callable[[Mapping], dict], config: Mapping, point_file: str | os.PathLike,
              result_file: str | os.PathLike) -> dict:
    """In a point's own process: ``function`` on the config updated with the point's values (read from
    ``point_file``), as the sweep would have called it, and its result, after the point's values, written atomically
    to ``result_file``. Returns that result."""
    from infodropout.paper.train.checkpoint import atomic_write

    point = json.loads(Path(point_file).read_text())
    values = {key: value for key, value in config.items() if key not in POINT_KEYS}
    result = {**point, **function({**values, **point})}
    atomic_write(Path(result_file), lambda tmp: Path(tmp).write_text(json.dumps(result) + "\n"))
    return result


def with_seeds(points: list[dict], seeds: Sequence[int]) -> list[dict]:
    """Each sweep point once per seed, seed by seed (every point of seed 0 first, so that an interrupted
    sweep already has one whole curve). Seed 0 is every script's default, so a point at seed 0 is the
    run a single-seed sweep trained: its name has no seed in it and it is reused."""
    return [{**point, "seed": seed} for seed in seeds for point in points]


def point_label(point: Mapping) -> str:
    """``beta=0.5 seed=1``: how a point is named in the sweep's progress lines."""
    return " ".join(f"{key}={value}" for key, value in point.items())


def run_sweep(experiment: str, config: Mapping, defaults: Mapping, points: list[dict],
              point_command: PointCommand) -> tuple[list[dict], Path]:
    """Run each point (e.g. ``{"beta": 0.1}``) in its own process with ``point_command`` (the experiment's
    function of the sweep's config updated with the point) and keep the results, one dict per point, in
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
    jobs = parallel_jobs(config.get("jobs", 1), len(todo))
    return _run_in_processes(point_command, config, todo, len(points), results, path, jobs), folder


def _write_results(path: Path, results: list[dict]) -> None:
    from infodropout.paper.train.checkpoint import CheckpointError, atomic_write

    try:
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(results, indent=1) + "\n"))
    except CheckpointError as error:
        fail(f"{error} The runs trained so far are kept in the models folder: run the same command again "
             "to gather them.", status=1)


class _Point:
    """One point running in its own process. At once with others (``prefixed``), its output is relayed line by
    line with its label; one after another, it writes to the sweep's own output, its stderr relayed as it comes
    but for its last line, which is its message if it fails (:attr:`last_line`)."""

    def __init__(self, number: int, point: dict, argv: list[str], env: dict, result: Path, lock: threading.Lock,
                 prefixed: bool):
        self.number, self.point, self.result, self.prefixed = number, point, result, prefixed
        self.label = point_label(point)
        self.last_line = ""
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE if prefixed else None,
                                        stderr=subprocess.STDOUT if prefixed else subprocess.PIPE, text=True,
                                        bufsize=1, errors="replace")
        stream, out = (self.process.stdout, sys.stdout) if prefixed else (self.process.stderr, sys.stderr)
        self.relay = threading.Thread(target=self._relay, args=(stream, out, lock), daemon=True)
        self.relay.start()

    def _relay(self, stream: TextIO, out: TextIO, lock: threading.Lock) -> None:
        quiet = _STARTUP_LINES if self.prefixed else _SERIAL_QUIET_LINES
        for line in stream:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith(quiet):
                continue
            if self.prefixed:
                shown = f"[{self.label}] {line}"
            elif self.last_line:
                # One after another, each line is shown when the next comes: the last, if the point fails, is its
                # message, which the sweep itself says last.
                shown = self.last_line
            else:
                shown = None
            self.last_line = line
            if shown is not None:
                with lock:
                    out.write(shown + "\n")
                    out.flush()

    def release_last_line(self) -> None:
        """One after another, a point that ended well: its held-back last line is shown after all."""
        if not self.prefixed and self.last_line:
            sys.stderr.write(self.last_line + "\n")
            sys.stderr.flush()


def _point_environment(threads: int | None) -> dict:
    """A point's process's environment: the sweep's, with the package importable from any working folder,
    unbuffered output, and, where the points share the cores, each one's thread count."""
    paths = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(paths)}
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
                   TF_NUM_INTEROP_THREADS=str(threads))
    return env


def _run_in_processes(point_command: PointCommand, config: Mapping, todo: list[tuple[int, dict]], total: int,
                      results: list[dict], path: Path, jobs: int) -> list[dict]:
    """Run the points of ``todo`` ``jobs`` at a time, each in its own process; add each result to
    ``results`` (the points' order kept) and rewrite ``path`` as each one ends. At once, a point that fails does
    not stop the others; the sweep then ends with one line naming each failed point and its last line. One after
    another, a point that fails ends the sweep with its own line and status, as it did in the sweep's process."""
    parallel = jobs > 1
    cores = available_cores()
    if parallel:
        threads = config.get("threads") or threads_per_job(jobs, cores)
        # Progress bars do not read through a pipe, so one line per epoch (verbose=2) unless the user asked for
        # silence. The thread count goes into the config too, so that `jobs=1 threads=<share>` repeats a point's
        # numbers.
        child_config = {**config, "jobs": 1, "threads": threads, "verbose": 0 if config.get("verbose") == 0 else 2}
        env = _point_environment(threads)
        print(f"Sweep: {len(todo)} of {total} points to run, {jobs} at a time, {threads} thread(s) each "
              f"({cores} cores); {len(results)} done before.", flush=True)
    else:
        # The sweep's own config, threads and verbosity: each point computes what it computed in the sweep's process.
        child_config, env = {**config, "jobs": 1}, _point_environment(None)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The points' config and results in a private folder of the system's: its path has no "=", which sacred
    # would read as a config entry after `with` (the sweep's folder name has them).
    scratch = Path(tempfile.mkdtemp(prefix="infodropout-sweep-"))
    config_file = scratch / "config.json"
    config_file.write_text(json.dumps(child_config))
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
                point_file, result = scratch / f"point-{number}.json", scratch / f"point-{number}.result.json"
                point_file.write_text(json.dumps(point))
                result.unlink(missing_ok=True)
                with lock:
                    done = f"started; {len(kept)} done" if parallel else f"{len(kept)} done"
                    print(f"Sweep point {number}/{total}: {point_label(point)} ({done}).", flush=True)
                running.append(_Point(number, point, point_command.argv(config_file, point_file, result), env, result,
                                      lock, prefixed=parallel))
            time.sleep(0.2 if parallel else 0.05)
            for job in [job for job in running if job.process.poll() is not None]:
                running.remove(job)
                job.relay.join()
                status = job.process.returncode
                if status == 0 and job.result.exists():
                    job.release_last_line()
                    new[job.number] = json.loads(job.result.read_text())
                    kept = results + [new[number] for number in sorted(new)]
                    _write_results(path, kept)
                elif status in (130, -2):
                    raise KeyboardInterrupt
                elif parallel:
                    failed.append((job, status))
                else:
                    _serial_failure(job, status, path)
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


def _serial_failure(job: _Point, status: int, path: Path) -> None:
    """One after another, a point that failed ends the sweep with the point's own last line (its message, said by
    the sweep's process after sacred's lines, as when the point ran there) and the point's status."""
    program = f"{Path(sys.argv[0]).name}: "
    if status > 0 and job.last_line:
        fail(job.last_line.removeprefix(program), status=status)
    how = f"exit {status}" if status > 0 else f"signal {-status}" if status < 0 else "no result written"
    fail(f"sweep point [{job.label}] ended ({how}) without a message; the points before it are kept in {path}: "
         "run the same command again to go on.", status=1)


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
