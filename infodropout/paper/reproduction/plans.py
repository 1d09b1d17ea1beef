"""Every experiment of the paper at a chosen scale, from one command (``./reproduce.py``).

A *plan* is the list of experiment invocations (steps) that produce every figure and table at one
scale; :mod:`infodropout.paper.reproduction.runner` runs them, and :mod:`infodropout.paper.report.writer` then turns the
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

import importlib
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from infodropout.paper.configs.base import ExperimentConfig
from infodropout.paper.reproduction.scales import (  # SCALES is read from here too (the script, the report)
    CIFAR_STAND_IN, FASHION_STAND_IN, MEDIUM_EXPECTED_MINUTES, OCCLUDED_FASHION_STAND_IN, OVERFIT_PROBE_EPOCHS, SCALES,
    SETTINGS, ConfigValue, replacing,
)


# Every step's output is one line per epoch in its log, not a progress bar redrawn per batch.
VERBOSE = 2

Config = Mapping[str, ConfigValue]


def config_class(experiment: str) -> type[ExperimentConfig]:
    """The typed config of ``experiment`` (``infodropout.paper.configs.<experiment>.Config``)."""
    return importlib.import_module(f"infodropout.paper.configs.{experiment}").Config


def command_value(value: ConfigValue) -> str:
    """``value`` as the step's command line gives it to sacred: a list as ``[a,b]`` (no spaces, words unquoted, as
    sacred reads them from the command line), anything else as ``str`` (``0.1``, ``1.0``, ``fashion``)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(command_value(item) for item in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Step:
    """One invocation of an experiment: ``./<experiment>.py <command> with <configs> <key=value ...>``."""

    name: str  # unique within a plan; also the folder its figures are drawn into
    experiment: str  # the experiment's script, without ".py": "cifar", "vae", ...
    command: str
    # The experiment's named configs the step selects, e.g. ("softplus",); on the command line before the values.
    configs: tuple[str, ...] = ()
    # The values the step sets, in the order its command gives them (the ledger compares commands as written).
    config: Config = field(default_factory=dict, hash=False)
    # What the step's results stand for, for the report: "", or why they are not the paper's data.
    stand_in: str = ""
    # A sentence the report prints beside the step's commands, as written: where the scale departs
    # from the paper, and why.
    note: str = ""
    # How long the step is expected to take on 2 cores of the slower host (AVX2), where it was sized; None
    # where the scale was not sized step by step.
    expected_s: float | None = None
    # The step whose sweep this one adds seeds to, at some of its points and with its other values (a changed sweep
    # would train its every point at the new seeds, and its committed points cannot be trained again where their
    # checkpoints are gone): the report reads this step's results as that step's. "" for a step of its own.
    extends: str = ""

    def __post_init__(self) -> None:
        if self.experiment.endswith(".py"):
            raise ValueError(f"a step's experiment is the script's name without .py, got {self.experiment!r}")

    @property
    def experiment_config(self) -> ExperimentConfig:
        """The step's typed config, as its command makes it: the experiment's defaults, overridden by its named
        configs' values, then by the step's own; checked by the config's rules (ValueError, or TypeError for a key the
        experiment does not have)."""
        cls = config_class(self.experiment)
        named = {key: value for name in self.configs for key, value in cls.named_configs[name].items()}
        return cls.from_values({**named, **self.config})

    @property
    def script(self) -> str:
        """The script the step runs, from the repository's root (the runner's folder); the ledger records it as the
        first word of each command, so a step done under one path is not reused under another."""
        return f"{self.experiment}.py"

    @property
    def args(self) -> tuple[str, ...]:
        """What the command gives after ``with``: the named configs, then each value as ``key=value``. The one
        rendering of a step's config as text (:meth:`argv` and the readers that look a value up as written)."""
        return (*self.configs, *(f"{key}={command_value(value)}" for key, value in self.config.items()))

    def argv(self, plots_dir: Path, extra: Sequence[str] = ()) -> list[str]:
        """The step's command (after ``python``), with the runner's ``extra`` values and its figures' folder."""
        return [self.script, self.command, "with", *self.args, *extra, f"verbose={VERBOSE}",
                f"plots_dir={plots_dir / self.name}"]


def joined(*parts: Config) -> dict[str, ConfigValue]:
    """The values of ``parts`` in order, refusing a key set twice: no setting of a step silently overrides another
    (:func:`~infodropout.paper.reproduction.scales.replacing` is for the deliberate replacements)."""
    config: dict[str, ConfigValue] = {}
    for part in parts:
        repeated = sorted(set(config) & set(part))
        if repeated:
            raise ValueError(f"a step's config sets {', '.join(repeated)} twice")
        config.update(part)
    return config


@dataclass(frozen=True)
class Plan:
    scale: str
    steps: tuple[Step, ...]
    # Experiments left out at this scale, with the reason, e.g. {"figure4": "needs CIFAR-10"}.
    skipped: dict[str, str] = field(default_factory=dict)

    def expected_seconds(self, names: Sequence[str] | None = None) -> float | None:
        """The expected time of the named steps together (by default the whole plan's); None where one of them has
        no expected time or is not in the plan."""
        by_name = {step.name: step.expected_s for step in self.steps}
        times = list(by_name.values()) if names is None else [by_name.get(name) for name in names]
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

    def seeds(key: str) -> Config:
        # Only the sweeps take several seeds; at a scale without them every run is seed 0, the default.
        return {"seeds": s[key]} if key in s else {}

    table1 = joined(s["vae"], {"ks": s["ks"]}, seeds("vae_seeds"))
    steps: list[Step] = [
        Step("figure3a", "mnist_fc", "compare",
             config=joined(s["mnist"], s["fig3a"], {"methods": ["information", "binary", "lognormal", "none"]})),
        Step("figure3a-lr", "mnist_fc", "choose_lr",
             config=joined(s["mnist"], {"widths": s["fig3a"]["widths"]} if "widths" in s["fig3a"] else {},
                           s["fig3a_lr"])),
        Step("table1", "vae", "table", config=table1),
        Step("table1-log-normal", "vae", "table",
             config=joined(table1, {"prior": "log_normal", "latents": ["information"]})),
        Step("vae-samples-gaussian", "vae", "samples",
             config=joined(s["vae"], {"latent": "gaussian", "k": s["ks"][0]})),
        Step("vae-samples-information", "vae", "samples",
             config=joined(s["vae"], {"latent": "information", "k": s["ks"][0]})),
    ]
    skipped = {}
    use_stand_in = not cifar10 and s["cifar_sample"] is not None
    fashion = use_stand_in and "cifar_fashion" in s
    cifar = s["cifar_fashion"] if fashion else s["cifar_sample"] if use_stand_in else s["cifar_real"]
    stand_in = FASHION_STAND_IN if fashion else CIFAR_STAND_IN if use_stand_in else ""

    def cifar_step(name: str, command: str, *parts: Config, softplus: bool = False) -> Step:
        # Every All-CNN-32 step shares the scale's CIFAR settings, its data and what the report says of them.
        return Step(name, "cifar", command, ("softplus",) * softplus, joined(cifar, *parts), stand_in,
                    s.get("cifar_note", ""))

    fig1 = {"filter_percentage": s["fig1_filters"]}
    steps += [
        cifar_step("figure5", "sweep", {"sweep_over": "beta", "betas": s["fig5_betas"],
                                        "filter_percentage": s["fig5_filters"]}, seeds("fig5_seeds"), softplus=True),
        *overfit_steps(s, "figure5-overfit", "cifar", ("softplus",),
                       joined(replacing(cifar, s.get("overfit", {})),
                              {"sweep_over": "beta", "betas": s.get("fig5_overfit_betas", [])}), stand_in),
        cifar_step("figure3b-6", "sweep", {"sweep_over": "filter_percentage", "filter_percentages": s["fig3b_filters"],
                                           "methods": s["fig3b_methods"]}, seeds("fig3b_seeds"), softplus=True),
        # At the scale's β (the protocol's where it sets none), as its typed config reads it.
        *([cifar_step("alpha-cap", "sweep", {"sweep_over": "beta", "betas": [config_class("cifar")(**cifar).beta],
                                             "filter_percentage": s["fig5_filters"], "max_alpha": s["alpha_cap"]},
                      seeds("fig5_seeds"), softplus=True)] if "alpha_cap" in s else []),
        cifar_step("figure1-softplus", "histograms", fig1, softplus=True),
        cifar_step("figure1-relu-train", "train", fig1),
        cifar_step("figure1-relu", "histograms", fig1),
    ]
    # Figure 4 on Occluded CIFAR itself, or on Occluded Fashion-MNIST at a scale that has it.
    occluded_cifar = cifar10 or scale == "full"
    occluded = s["occluded"] if occluded_cifar else s.get("occluded_fashion")
    occluded_stand_in = "" if occluded_cifar else OCCLUDED_FASHION_STAND_IN
    if occluded is not None:
        steps.append(Step("figure4", "occluded", "sweep", (), joined(occluded, seeds("occluded_seeds")),
                          occluded_stand_in, "" if occluded_cifar else s.get("occluded_note", "")))
        steps += overfit_steps(s, "figure4-overfit", "occluded", (),
                               replacing(occluded, {**s.get("overfit", {}), "probe_epochs": OVERFIT_PROBE_EPOCHS,
                                                    "betas": s.get("occluded_overfit_betas", [])}),
                               occluded_stand_in)
    else:
        skipped["figure4"] = ("Occluded CIFAR needs CIFAR-10 itself (the digits occlude CIFAR images), which is not "
                              "on this machine; no stand-in would test the paper's claim")
    cluttered_note = s.get("cluttered_note", "")
    steps.append(Step("figure2-sweep", "cluttered", "sweep",
                      config=joined(s["cluttered"], {"betas": s["cluttered_betas"]}, seeds("cluttered_seeds")),
                      note=cluttered_note))
    steps += [Step(f"figure2-beta{beta}", "cluttered", "plot", config=joined(s["cluttered"], {"beta": beta}),
                   note=cluttered_note) for beta in s["cluttered_betas"]]
    steps += probe_steps(s, cifar_step, occluded, occluded_stand_in, cluttered_note)
    # Runs added to a step with some of its values changed, last, since no step needs them: seeds at some of its points
    # (Step.extends, read as that step's), or another method in its setting.
    for name, base, extends in ADDED_STEPS:
        original = next((step for step in steps if step.name == base), None)
        if original is not None and name in s.get("added", {}):
            steps.append(replace(original, name=name, config=replacing(original.config, s["added"][name]),
                                 extends=base if extends else ""))
    if scale == "medium":
        steps = [replace(step, expected_s=60.0 * MEDIUM_EXPECTED_MINUTES[step.name]) for step in steps]
    for step in steps:  # a scale's value that its experiment would refuse fails here, before any step runs
        step.experiment_config
    return Plan(scale, tuple(steps), skipped)


# The steps that add runs to another (name, the step, whether they add seeds to it: read as its results), at a scale
# whose settings give their values (``added``: name → the values replaced).
ADDED_STEPS = (
    ("figure3b-6-seeds", "figure3b-6", True),
    ("figure5-overfit-none", "figure5-overfit", False),
    ("figure4-seeds", "figure4", True),
    ("figure4-overfit-seeds", "figure4-overfit", True),
    ("figure5-overfit-seeds", "figure5-overfit", True),
    ("table1-seeds", "table1", True),
    ("table1-log-normal-seeds", "table1-log-normal", True),
)


def overfit_steps(s: Mapping, name: str, experiment: str, configs: tuple[str, ...], config: Config,
                  stand_in: str) -> list[Step]:
    """The step ``name`` (a β sweep in the data-limited setting of :data:`OVERFIT`) at a scale that has one, with
    the scale's seeds and note; none at the others."""
    if "overfit" not in s:
        return []
    return [Step(name, experiment, "sweep", configs, joined(config, {"seeds": s["overfit_seeds"]}), stand_in,
                 s["overfit_note"])]


def probe_steps(s: Mapping, cifar_step: Callable[..., Step], occluded: Config | None, occluded_stand_in: str,
                cluttered_note: str) -> list[Step]:
    """The independent estimates (probes, MINE, NDM) on the runs the steps before trained (seed 0's):
    ``probe_sweep`` reuses every run by its name, so these steps train nothing new. ``occluded``: figure 4's
    settings, None where it is not run, and its data's stand-in ("" for Occluded CIFAR itself)."""
    steps = [cifar_step("probes-figure5", "probe_sweep",
                        {"betas": s["probe_fig5_betas"], "filter_percentage": s["fig5_filters"]}, s["estimators"],
                        softplus=True)]
    if occluded is not None:
        steps.append(Step("probes-figure4", "occluded", "probe_sweep", (), joined(occluded, s["estimators"]),
                          occluded_stand_in))
    steps.append(Step("probes-figure2", "cluttered", "probe_sweep",
                      config=joined(s["cluttered"], {"betas": s.get("probe_cluttered_betas", s["cluttered_betas"])},
                                    s["estimators"]),
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
                             if earlier.experiment == step.experiment and earlier.command not in READS_TRAINED_RUNS)
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
