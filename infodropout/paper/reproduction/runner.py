"""The runner of a plan: each step not yet done, run as the user would type it in its own process, with a ledger
(``steps.json``) of the steps done, their command, status, time and machine, so that running the plan again redoes
nothing: a finished step is skipped, and an interrupted one resumes, since the experiments themselves reuse or resume
every run under ``models/``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from infodropout.paper.machine import describe_machine
from infodropout.paper.reproduction.ledger import planned, ran_as_planned, read_ledger, record
from infodropout.paper.paths import REPO_ROOT
from infodropout.paper.reproduction.plans import Plan


def _format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


# The commands that train or reuse several runs (run_sweep): ``jobs`` runs that many of their runs at once.
SWEEP_COMMANDS = frozenset({"sweep", "compare", "choose_lr", "table", "probe_sweep"})

# Where the experiments' modules are: a step written as ``cifar.py sweep with ...`` (in the plan, its ledger and the
# command echoed, as a user types it) runs as ``python -m infodropout.paper.experiments.cifar sweep with ...``.
EXPERIMENTS_PACKAGE = "infodropout.paper.experiments"


def step_module(script: str) -> str:
    """The module a step's script stands for: ``cifar.py`` → ``infodropout.paper.experiments.cifar``."""
    return f"{EXPERIMENTS_PACKAGE}.{Path(script).stem}"


def step_process(python: str, argv: Sequence[str]) -> list[str]:
    """The process that runs a step's command ``argv`` (``cifar.py sweep with ...``): its module under
    ``python -m``, so that no script file is looked for."""
    return [python, "-m", step_module(argv[0]), *argv[1:]]


def run_plan(plan: Plan, work_dir: str | os.PathLike, echo: Callable[[str], None] = print,
             folders: Mapping[str, str] | None = None, python: str = sys.executable, jobs: int = 1) -> dict:
    """Run the plan's steps not yet done, each as ``python -m <its module> <command> with <args> <folders>``
    (:func:`step_process`) in the project's root, so that the paths the steps are given (``models/``,
    ``datasets/``, the plots folder) are the ones a user's ``./<script> ...`` there sees (``folders``: say,
    ``{"models_dir": ...}``), its output in ``<work_dir>/logs/<step>.log``, its figures under
    ``<work_dir>/<step>/``. The ledger ``<work_dir>/steps.json`` records what each finished step ran (as data), its
    status and time, and is rewritten after every step; a step the ledger holds as done with the same config and
    folders is skipped (:func:`~infodropout.paper.reproduction.ledger.ran_as_planned`). A failed step is recorded and the
    others still run. Returns the ledger.

    ``jobs`` (0: one per core) is passed to the steps that run several runs (:data:`SWEEP_COMMANDS`), which
    train that many at once; the steps themselves still run one after another, in the plan's order, so
    that each finds what the steps before it trained. The ledger keeps it beside the config, never compared: a step
    done with one ``jobs`` is done for every other."""
    work = Path(work_dir).resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    plots_dir = steps_folder(work)
    ledger_path = work / "steps.json"
    ledger = read_ledger(ledger_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    folders = dict(folders or {})
    for number, step in enumerate(plan.steps, 1):
        parallel = {"jobs": jobs} if jobs != 1 and step.command in SWEEP_COMMANDS else {}
        argv = step.argv(plots_dir, [f"{key}={value}" for key, value in {**folders, **parallel}.items()])
        done = ledger.get(step.name, {})
        prefix = f"[{number}/{len(plan.steps)}] {step.name}:"
        if ran_as_planned(done, step, folders):
            echo(f"{prefix} done earlier ({_format_seconds(done['seconds'])}), reused")
            continue
        expected = "" if step.expected_s is None else f" (expected about {_format_seconds(step.expected_s)})"
        echo(f"{prefix} ./{' '.join(argv)}{expected}")
        log = work / "logs" / f"{step.name}.log"
        start = time.perf_counter()
        with open(log, "w") as handle:
            status = subprocess.run(step_process(python, argv), cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                    env=env).returncode
        seconds = time.perf_counter() - start
        if status in (130, -2):  # interrupted: stop the plan, as the step itself did
            raise KeyboardInterrupt
        ledger = record(ledger_path, step.name, {
            **planned(step, folders, parallel.get("jobs")),
            "status": "done" if status == 0 else f"failed (exit {status})", "seconds": seconds,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": describe_machine()})
        if status == 0:
            echo(f"{prefix} done in {_format_seconds(seconds)}")
        else:
            echo(f"{prefix} FAILED (exit {status}) after {_format_seconds(seconds)}; its last lines:\n"
                 + "".join(log.read_text().splitlines(keepends=True)[-5:]))
    return ledger


def steps_folder(work: Path) -> Path:
    """The folder the steps of work folder ``work`` (resolved) are given: inside the project relative to it, so that
    the commands of a committed work folder (the medium plan's) read the same in every clone."""
    return work.relative_to(REPO_ROOT) if work.is_relative_to(REPO_ROOT) else work


def default_work_dir(scale: str) -> str:
    """Where a scale's steps draw and log: results/medium for the medium plan, whose step results are committed so
    that it can be carried over several sittings; plots/reproduce-<scale> (not committed) for the others."""
    return "results/medium" if scale == "medium" else f"plots/reproduce-{scale}"
