"""Every experiment of the paper at a chosen scale, from one command (``./reproduce.py``).

A *plan* is the list of script invocations (steps) that produce every figure and table at one
scale; :func:`run_plan` runs them in turn, each in its own process exactly as a user would type it,
and keeps a ledger (``steps.json``) of the steps done and their time, so that running the plan again
redoes nothing: a finished step is skipped, and an interrupted one resumes, since the scripts
themselves reuse or resume every run under ``models/``. :mod:`infodropout.paper.report` then turns the
results into ``REPORT.md``.

The scales: ``full`` is the paper's protocol (SPEC §5) on the full data sets; ``medium`` tests every claim
on the largest real data these machines hold, in about 2 hours on 2 AVX-512 cores (about 6 on AVX2):
Fashion-MNIST (20,000 training and all 10,000 test images, in CIFAR-10's geometry and preprocessing) for
CIFAR-10's figures and Occluded Fashion-MNIST for figure 4, where CIFAR-10 is absent, 3 seeds for every
comparison, and its step results under ``results/medium/`` (committed, so that a plan carried over several
sittings loses only the step that was running); ``small`` fits in about an hour, on the embedded MNIST
sample, with CIFAR-10's experiments on the MNIST stand-in (``cifar.py with dataset=sample``) where CIFAR-10
is absent; ``tiny`` is a few minutes, for testing the pipeline only.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from infodropout.paper.checkpoint import atomic_write
from infodropout.paper.machine import describe_machine
from infodropout.paper.scales import (  # SCALES is read from here too (the script, the report)
    CIFAR_STAND_IN, FASHION_STAND_IN, MEDIUM_EXPECTED_MINUTES, OCCLUDED_FASHION_STAND_IN, OVERFIT_PROBE_EPOCHS, SCALES,
    SETTINGS, listed, replacing,
)

ROOT = Path(__file__).resolve().parents[2]  # the repository: the scripts live there


@dataclass(frozen=True)
class Step:
    """One invocation of an experiment script: ``./<script> <command> with <args>``."""

    name: str  # unique within a plan; also the folder its figures are drawn into
    script: str
    command: str
    args: tuple[str, ...] = ()
    # What the step's results stand for, for the report: "", or why they are not the paper's data.
    stand_in: str = ""
    # A sentence the report prints beside the step's commands, as written: where the scale departs
    # from the paper, and why.
    note: str = ""
    # How long the step is expected to take on 2 cores of the slower host (AVX2), where it was sized; None
    # where the scale was not sized step by step.
    expected_s: float | None = None

    def argv(self, plots_dir: Path, extra: Sequence[str] = ()) -> list[str]:
        # verbose=2: one line per epoch in the step's log, not a progress bar redrawn per batch.
        return [self.script, self.command, "with", *self.args, *extra, "verbose=2",
                f"plots_dir={plots_dir / self.name}"]


@dataclass(frozen=True)
class Plan:
    scale: str
    steps: tuple[Step, ...]
    # Experiments left out at this scale, with the reason, e.g. {"figure4": "needs CIFAR-10"}.
    skipped: dict[str, str] = field(default_factory=dict)

    def expected_seconds(self) -> float | None:
        """The plan's expected time, where every step has one."""
        times = [step.expected_s for step in self.steps]
        return None if any(t is None for t in times) else float(sum(times))


def cifar10_present(datasets_dir: str | os.PathLike = "datasets") -> bool:
    """Whether CIFAR-10 is on this machine in the form cifar.py reads (or can build it from)."""
    folder = Path(datasets_dir)
    return (folder / "cifar10-train.npz").exists() and (folder / "cifar10-test.npz").exists() or \
        (folder / "cifar-10-batches-py").is_dir() or (folder / "cifar-10-python.tar.gz").exists()


def make_plan(scale: str, cifar10: bool) -> Plan:
    """The steps that reproduce every figure and table at ``scale``; ``cifar10``: whether CIFAR-10 is
    present (at the full scale it is downloaded if not, so the plan is the same either way)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    s = SETTINGS[scale]
    vae_seeds = (f"seeds={listed(s['vae_seeds'])}",) if "vae_seeds" in s else ()
    steps: list[Step] = [
        Step("figure3a", "mnist_fc.py", "compare",
             (*s["mnist"], *s["fig3a"], "methods=[information,binary,lognormal,none]")),
        Step("figure3a-lr", "mnist_fc.py", "choose_lr", (*s["mnist"], "dropout=binary", *s["fig3a_lr"])),
        Step("table1", "vae.py", "table", (*s["vae"], f"ks={listed(s['ks'])}", *vae_seeds)),
        Step("table1-log-normal", "vae.py", "table",
             (*s["vae"], f"ks={listed(s['ks'])}", *vae_seeds, "prior=log_normal", "latents=[information]")),
        Step("vae-samples-gaussian", "vae.py", "samples", (*s["vae"], "latent=gaussian", f"k={s['ks'][0]}")),
        Step("vae-samples-information", "vae.py", "samples", (*s["vae"], "latent=information", f"k={s['ks'][0]}")),
    ]
    skipped = {}
    use_stand_in = not cifar10 and s["cifar_sample"] is not None
    fashion = use_stand_in and "cifar_fashion" in s
    cifar = s["cifar_fashion"] if fashion else s["cifar_sample"] if use_stand_in else s["cifar_real"]
    stand_in = FASHION_STAND_IN if fashion else CIFAR_STAND_IN if use_stand_in else ""

    def cifar_step(name: str, command: str, *args: str, softplus: bool = False) -> Step:
        # Every All-CNN-32 step shares the scale's CIFAR settings, its data and what the report says of them.
        return Step(name, "cifar.py", command, ("softplus",) * softplus + (*cifar, *args), stand_in,
                    s.get("cifar_note", ""))

    fig1 = f"filter_percentage={s['fig1_filters']}"

    def seeds(key: str) -> tuple[str, ...]:
        # Only the sweeps take several seeds; at a scale without them every run is seed 0, the default.
        return (f"seeds={listed(s[key])}",) if key in s else ()

    steps += [
        cifar_step("figure5", "sweep", "sweep_over=beta", f"betas={listed(s['fig5_betas'])}",
                   f"filter_percentage={s['fig5_filters']}", *seeds("fig5_seeds"), softplus=True),
        *overfit_steps(s, "figure5-overfit", "cifar.py",
                       ("softplus", *replacing(cifar, s.get("overfit", ())), "sweep_over=beta",
                        f"betas={listed(s.get('fig5_overfit_betas', ()))}"), stand_in),
        cifar_step("figure3b-6", "sweep", "sweep_over=filter_percentage",
                   f"filter_percentages={listed(s['fig3b_filters'])}", f"methods={listed(s['fig3b_methods'])}",
                   *seeds("fig3b_seeds"), softplus=True),
        cifar_step("figure1-softplus", "histograms", fig1, softplus=True),
        cifar_step("figure1-relu-train", "train", fig1),
        cifar_step("figure1-relu", "histograms", fig1),
    ]
    # Figure 4 on Occluded CIFAR itself, or on Occluded Fashion-MNIST at a scale that has it.
    occluded_cifar = cifar10 or scale == "full"
    occluded = s["occluded"] if occluded_cifar else s.get("occluded_fashion")
    occluded_stand_in = "" if occluded_cifar else OCCLUDED_FASHION_STAND_IN
    if occluded is not None:
        steps.append(Step("figure4", "occluded.py", "sweep", (*occluded, *seeds("occluded_seeds")),
                          occluded_stand_in, "" if occluded_cifar else s.get("occluded_note", "")))
        steps += overfit_steps(s, "figure4-overfit", "occluded.py",
                               replacing(occluded, (*s.get("overfit", ()), f"probe_epochs={OVERFIT_PROBE_EPOCHS}",
                                                     f"betas={listed(s.get('occluded_overfit_betas', ()))}")),
                               occluded_stand_in)
    else:
        skipped["figure4"] = ("Occluded CIFAR needs CIFAR-10 itself (the digits occlude CIFAR images), which is not "
                              "on this machine; no stand-in would test the paper's claim")
    cluttered_note = s.get("cluttered_note", "")
    steps.append(Step("figure2-sweep", "cluttered.py", "sweep",
                      (*s["cluttered"], f"betas={listed(s['cluttered_betas'])}", *seeds("cluttered_seeds")),
                      note=cluttered_note))
    steps += [Step(f"figure2-beta{beta}", "cluttered.py", "plot", (*s["cluttered"], f"beta={beta}"),
                   note=cluttered_note) for beta in s["cluttered_betas"]]
    steps += probe_steps(s, cifar_step, occluded, occluded_stand_in, cluttered_note)
    if scale == "medium":
        steps = [replace(step, expected_s=60.0 * MEDIUM_EXPECTED_MINUTES[step.name]) for step in steps]
    return Plan(scale, tuple(steps), skipped)


def overfit_steps(s: dict, name: str, script: str, args: Sequence[str], stand_in: str) -> list[Step]:
    """The step ``name`` (a β sweep in the data-limited setting of :data:`OVERFIT`) at a scale that has one, with
    the scale's seeds and note; none at the others."""
    if "overfit" not in s:
        return []
    return [Step(name, script, "sweep", (*args, f"seeds={listed(s['overfit_seeds'])}"), stand_in,
                 s["overfit_note"])]


def probe_steps(s: dict, cifar_step: Callable[..., Step], occluded: Sequence[str] | None, occluded_stand_in: str,
                cluttered_note: str) -> list[Step]:
    """The independent estimates (probes, MINE, NDM) on the runs the steps before trained (seed 0's):
    ``probe_sweep`` reuses every run by its name, so these steps train nothing new. ``occluded``: figure 4's
    settings, None where it is not run, and its data's stand-in ("" for Occluded CIFAR itself)."""
    steps = [cifar_step("probes-figure5", "probe_sweep", f"betas={listed(s['probe_fig5_betas'])}",
                        f"filter_percentage={s['fig5_filters']}", *s["estimators"], softplus=True)]
    if occluded is not None:
        steps.append(Step("probes-figure4", "occluded.py", "probe_sweep", (*occluded, *s["estimators"]),
                          occluded_stand_in))
    steps.append(Step("probes-figure2", "cluttered.py", "probe_sweep",
                      (*s["cluttered"], f"betas={listed(s.get('probe_cluttered_betas', s['cluttered_betas']))}",
                       *s["estimators"]),
                      note=cluttered_note))
    return steps


# Commands that load a run trained by an earlier step instead of training it.
READS_TRAINED_RUNS = frozenset({"histograms", "plot", "samples", "correlation", "test"})


def dependencies(plan: Plan) -> dict[str, tuple[str, ...]]:
    """For each step, the earlier steps it needs done first: every earlier step of the same script that trains
    (or reuses) runs. A step that reads trained runs needs them written; a step that trains may share a run or a
    data set's download with an earlier one of its script, and one process per run name is allowed (the run's
    lock refuses a second). Steps that only read do not wait for each other, nor do different scripts. The plan's
    order satisfies all of this, so steps run one after another need nothing more."""
    return {step.name: tuple(earlier.name for earlier in plan.steps[:index]
                             if earlier.script == step.script and earlier.command not in READS_TRAINED_RUNS)
            for index, step in enumerate(plan.steps)}


def step_list(plan: Plan, options: Sequence[str] = ()) -> list[tuple[str, int, tuple[str, ...], str, float | None]]:
    """(id, wave, the ids it needs, its shell command, its expected seconds or None) for every step in dependency
    order, then the report, which needs them all. A step's wave is 1 + the largest wave of the steps it needs: the
    steps of one wave can all run at once once the waves before it are done. ``options`` are ``reproduce.py``'s own (``--work DIR`` ...),
    passed on to each command."""
    needs = dependencies(plan)
    base = ["./reproduce.py", "--scale", plan.scale, *options]
    waves: dict[str, int] = {}
    rows = []
    for step in plan.steps:
        waves[step.name] = 1 + max((waves[name] for name in needs[step.name]), default=0)
        rows.append((step.name, waves[step.name], needs[step.name], shlex.join([*base, "--step", step.name]),
                     step.expected_s))
    rows.append(("report", 1 + max(waves.values(), default=0), tuple(step.name for step in plan.steps),
                 shlex.join([*base, "--report-only"]), None))
    return rows


class LedgerError(ValueError):
    """The ledger (steps.json) cannot be read; the message names it and how to recover."""


def read_ledger(path: str | os.PathLike) -> dict:
    """The ledger at ``path`` (empty if there is none): each step's command, status and time. A file that is
    not a JSON object of steps (cut short by a full disk, edited by hand) raises :class:`LedgerError` saying
    how to recover: the ledger only saves time, since every trained run is reused from the models folder."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        ledger = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        ledger = error
    if not isinstance(ledger, dict) or not all(isinstance(entry, dict) for entry in ledger.values()):
        detail = f" ({ledger})" if isinstance(ledger, Exception) else ""
        raise LedgerError(
            f"{path} is not a ledger of steps{detail}. Restore it (`git checkout -- {path}` if it is committed) or "
            "delete it, then run the same command again: without it every step runs again, but each reuses the "
            "runs it trained (models/), so only their testing and figures are redone.")
    return ledger


def _format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


# The commands that train or reuse several runs (run_sweep): ``jobs`` runs that many of their runs at once.
SWEEP_COMMANDS = frozenset({"sweep", "compare", "choose_lr", "table", "probe_sweep"})


def run_plan(plan: Plan, work_dir: str | os.PathLike, echo: Callable[[str], None] = print,
             extra_args: Sequence[str] = (), python: str = sys.executable, jobs: int = 1) -> dict:
    """Run the plan's steps not yet done, each as ``python <script> <command> with <args>
    <extra_args>`` in the project's root (``extra_args``: say, ``models_dir=...``), its output in
    ``<work_dir>/logs/<step>.log``, its figures under ``<work_dir>/<step>/``. The ledger
    ``<work_dir>/steps.json`` records each finished step's command, status and time and is
    rewritten after every step; a step whose command is in the ledger as done
    is skipped. A failed step is recorded and the others still run. Returns the ledger.

    ``jobs`` (0: one per core) is passed to the steps that run several runs (:data:`SWEEP_COMMANDS`), which
    train that many at once; the steps themselves still run one after another, in the plan's order, so
    that each finds what the steps before it trained. The ledger compares commands without it: a step done
    with one ``jobs`` is done for every other."""
    work = Path(work_dir).resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    # Inside the project the steps are given their folder relative to it, so that the ledger of a committed work
    # folder (the medium plan's) reads the same in every clone.
    plots_dir = work.relative_to(ROOT) if work.is_relative_to(ROOT) else work
    ledger_path = work / "steps.json"
    ledger = read_ledger(ledger_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for number, step in enumerate(plan.steps, 1):
        parallel = [f"jobs={jobs}"] if jobs != 1 and step.command in SWEEP_COMMANDS else []
        argv = step.argv(plots_dir, [*extra_args, *parallel])
        done = ledger.get(step.name, {})
        prefix = f"[{number}/{len(plan.steps)}] {step.name}:"
        if done.get("status") == "done" and _same_command(done.get("argv", []), argv):
            echo(f"{prefix} done earlier ({_format_seconds(done['seconds'])}), reused")
            continue
        expected = "" if step.expected_s is None else f" (expected about {_format_seconds(step.expected_s)})"
        echo(f"{prefix} ./{' '.join(argv)}{expected}")
        log = work / "logs" / f"{step.name}.log"
        start = time.perf_counter()
        with open(log, "w") as handle:
            status = subprocess.run([python, *argv], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                                    env=env).returncode
        seconds = time.perf_counter() - start
        if status in (130, -2):  # interrupted: stop the plan, as the step itself did
            raise KeyboardInterrupt
        ledger = _record(ledger_path, step.name, {
            "argv": argv, "status": "done" if status == 0 else f"failed (exit {status})", "seconds": seconds,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": describe_machine()})
        if status == 0:
            echo(f"{prefix} done in {_format_seconds(seconds)}")
        else:
            echo(f"{prefix} FAILED (exit {status}) after {_format_seconds(seconds)}; its last lines:\n"
                 + "".join(log.read_text().splitlines(keepends=True)[-5:]))
    return ledger


def _same_command(done: Sequence[str], argv: Sequence[str]) -> bool:
    """Whether a ledger's command is ``argv``, wherever its work folder was and however many runs it ran at
    once (plots_dir and jobs change no number)."""
    def kept(items: Sequence[str]) -> list[str]:
        return [item for item in items if not item.startswith(("plots_dir=", "jobs="))]
    return kept(done) == kept(argv)


def default_work_dir(scale: str) -> str:
    """Where a scale's steps draw and log: results/medium for the medium plan, whose step results are committed so
    that it can be carried over several sittings; plots/reproduce-<scale> (not committed) for the others."""
    return "results/medium" if scale == "medium" else f"plots/reproduce-{scale}"


def _record(ledger_path: Path, name: str, entry: dict) -> dict:
    """Add one step's entry to the ledger and return it. Several steps may finish at once (``--step`` run by
    a scheduler, on a shared file system): the ledger is re-read and rewritten under an exclusive lock, so
    that no step's entry overwrites another's."""
    with open(ledger_path.with_name(ledger_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            ledger = read_ledger(ledger_path)
            ledger[name] = entry
            atomic_write(ledger_path, lambda tmp: Path(tmp).write_text(json.dumps(ledger, indent=1) + "\n"))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return ledger
