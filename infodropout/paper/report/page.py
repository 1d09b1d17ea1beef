"""The report's page as it is built: its text, tables and figures, and the results the plan's steps left.

:class:`Report` reads what the steps of a :class:`~infodropout.paper.reproduction.plans.Plan` left under the work folder
(its ledger steps.json, each step's results.json and figures) and gathers the report's lines, copying the
figures it embeds next to it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from infodropout.paper.figures.plots import ERROR_BAR
from infodropout.paper.reproduction.ledger import command_line, read_ledger
from infodropout.paper.reproduction.plans import Plan
from infodropout.paper.report.verdicts import Measured, over_seeds
from infodropout.paper.train.run_names import run_name


class Report:
    """The report's text as it is built, with the figures it embeds copied into ``out/figures``."""

    def __init__(self, plan: Plan, work: Path, out: Path):
        self.plan, self.work, self.out = plan, work, out
        self.lines: list[str] = []
        self.ledger = read_ledger(work / "steps.json")
        self.steps = {step.name: step for step in plan.steps}
        self.copied: set[Path] = set()
        self.figures = out / figures_folder(plan.scale)
        self.figures.mkdir(parents=True, exist_ok=True)
        # Every claim's and sanity check's judgement (infodropout.paper.report.claims), judged before the sections.
        self.judgements: list = []
        self.sanity: list = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: Sequence[str], rows: Sequence[Sequence]) -> None:
        self.add("| " + " | ".join(header) + " |", "|" + "---|" * len(header))
        self.add(*("| " + " | ".join(cell(value) for value in row) + " |" for row in rows))
        self.add("")

    def done(self, name: str) -> bool:
        return self.ledger.get(name, {}).get("status") == "done"

    def ran_config(self, name: str) -> dict:
        """The config step ``name`` ran with, from the ledger (empty where it has not run)."""
        return self.ledger.get(name, {}).get("config", {})

    def folder(self, name: str) -> Path | None:
        """The folder a done step drew into (a sweep's or a run's), None if it has not run. Should a changed
        plan have left an older one beside it, the one whose settings agree with the config the step ran with in
        the ledger and spells the most of its values; the newest among those (modification times alone are
        arbitrary in a fresh checkout)."""
        folders = [p for p in (self.work / name).glob("*") if p.is_dir()] if self.done(name) else []
        ran = self.ran_config(name)
        spelled = {folder: {key: spells(folder.name, key, value) for key, value in ran.items()
                            if f".{key}=" in folder.name} for folder in folders}
        agreeing = [folder for folder in folders if all(spelled[folder].values())]
        # A name spells only the values that differ from their defaults, so a folder that lacks a key the step ran
        # with agrees vacuously (a sweep of the plan's next command, half done, beside the one the ledger records):
        # the folder that spells the most of the step's values is its own.
        return max(agreeing or folders, key=lambda folder: (len(spelled[folder]), folder.stat().st_mtime)) \
            if folders else None

    def own_results(self, name: str) -> list[dict] | None:
        """The results step ``name`` itself left (its sweep's results.json), None where it has none."""
        folder = self.folder(name)
        path = folder / "results.json" if folder else None
        return json.loads(path.read_text()) if path and path.exists() else None

    def extensions(self, name: str) -> list[str]:
        """The steps of the plan that add seeds to step ``name``'s sweep (:attr:`Step.extends`), in its order."""
        return [step.name for step in self.plan.steps if step.extends == name]

    def results(self, name: str) -> list[dict] | None:
        """The results of step ``name``, with those of the done steps that add seeds to it (its extensions): the
        same runs' settings, more seeds. None where the step itself has none."""
        rows = self.own_results(name)
        if rows is None:
            return None
        return rows + [r for extension in self.extensions(name) for r in self.own_results(extension) or []]

    def figure(self, name: str, filename: str, caption: str, title: str = "") -> None:
        """Embed the figure ``filename`` that step ``name`` drew: linked where it lies beside the report already
        (a plan whose work folder is committed, as the medium one's), else copied into the report's figures. With
        ``title``, the copy's title strip is replaced by it (a figure drawn before titles named their data set)."""
        folder = self.folder(name)
        if folder is None or not (folder / filename).exists():
            self.add(f"*(figure {filename} of step {name} not drawn)*", "")
            return
        source, target = (folder / filename).resolve(), self.figures / f"{name}-{filename}"
        if title:
            from infodropout.paper.figures.titles import retitle

            retitle(source, target, title)
        elif source.is_relative_to(self.out.resolve()):
            self.add(f"![{caption}]({source.relative_to(self.out.resolve()).as_posix()})", "")
            return
        else:
            shutil.copyfile(source, target)
        self.drawn(target, caption)

    def drawn(self, path: Path, caption: str) -> None:
        """Embed a figure the report drew itself into its figures folder."""
        self.copied.add(path)
        self.add(f"![{caption}]({self.figures.name}/{path.name})", "")

    def provenance(self, *names: str) -> None:
        """The commands behind a section, their time, and the data they stand on."""
        names = tuple(dict.fromkeys(n for name in names for n in (name, *self.extensions(name))))
        for name in names:
            entry = self.ledger.get(name)
            extends = self.steps[name].extends
            if entry is None:
                self.add(f"- `{name}`: not run yet." + (f" It adds seeds to `{extends}`." if extends else ""))
                continue
            self.add(f"- `./{command_line(entry)}` — {entry['status']}, {duration(entry['seconds'])}, "
                     f"finished {entry['finished']}")
            if extends:
                self.add(f"  (`{name}`: seeds added to `{extends}` at some of its points; the tables and verdicts read "
                         f"its runs with `{extends}`'s, the figures `{extends}` drew show its own runs only)")
        for note in sorted({self.steps[name].note for name in names if self.steps[name].note}):
            self.add(f"- {note}.")
        stand_ins = {self.steps[name].stand_in for name in names if self.steps[name].stand_in}
        for stand_in in sorted(stand_ins):
            self.add(f"- **Data: {stand_in}.** The numbers below test the pipeline and the paper's qualitative "
                     "claims on real images, not CIFAR-10's values.")
        seeds = sorted({seed for name in names for seed in self.seeds(name)})
        if len(seeds) > 1:
            self.add(f"- Seeds {', '.join(map(str, seeds))}: tables give the mean ± the sample standard deviation "
                     f"(n − 1) over seeds; figures the mean with its {ERROR_BAR} as error bars, as their legends say.")
        self.add("")

    def seeds(self, name: str) -> list[int]:
        """The seeds of a done step's results (0 where a result names none: the scripts' default)."""
        return sorted({r.get("seed", 0) for r in self.results(name) or []})

    def opened(self, name: str, *also: str) -> list[dict] | None:
        """A section's opening for step ``name``: its provenance (and that of ``also``, steps drawn from it),
        then its results, or None where it has none yet (which the report says)."""
        self.provenance(name, *also)
        results = self.results(name)
        return None if self.missing(name) or results is None else results

    def missing(self, *names: str) -> bool:
        """Say which steps have no results yet; True if any."""
        absent = [name for name in names if not self.done(name)]
        if absent:
            self.add("Not reproduced in this run: " + ", ".join(
                f"`{name}` ({self.ledger.get(name, {}).get('status', 'not run')})" for name in absent) + ".", "")
        return bool(absent)


def spells(folder_name: str, key: str, value) -> bool:
    """Whether a folder's name that spells ``key`` spells it as ``value``: the part ``.key=value`` computed as a run's
    name writes it (:func:`~infodropout.paper.train.run_names.run_name`), whole (the name ends there or the next
    ``.key=`` part begins), never read back from the name."""
    part = run_name("", {key: value}, {key: _ANY_OTHER})
    start = folder_name.find(f".{key}=")
    after = folder_name[start + len(part):]
    next_key, equals, _ = after[1:].partition("=")
    return folder_name.startswith(part, start) and (not after or after[0] == "." and next_key.isidentifier() and bool(equals))


_ANY_OTHER = object()  # a default that no value equals: run_name spells every value against it


def cell(value) -> str:
    """A table cell: floats to 2 decimals (3 significant digits below 0.01), None as n/a, a "|" escaped."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 0.01 and value != 0 else f"{value:.2f}"
    return str(value).replace("|", "\\|")


def duration(seconds: float, to_minute: bool = False) -> str:
    """A time as measured (``1 h 05 min``, ``7 min 55 s``, ``42 s``), or, ``to_minute``, an estimate to the minute
    (``1 h 05 min``, ``24 min``; never under a minute)."""
    if to_minute:
        hours, minutes = divmod(max(round(seconds / 60), 1), 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def figures_folder(scale: str) -> str:
    """The folder beside the report that holds its figures: ``figures`` for the small scale (results/REPORT.md),
    ``figures-<scale>`` for the others, so that reports of several scales share ``results/``."""
    return "figures" if scale == "small" else f"figures-{scale}"


def report_name(scale: str) -> str:
    return "REPORT.md" if scale == "small" else f"REPORT-{scale}.md"


def paper_value(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def grouped(results: Sequence[dict], key: str, by: Sequence[str]) -> dict[tuple, Measured | None]:
    """``key`` of the results over seeds, per value of the ``by`` entries (e.g. per β)."""
    groups: dict[tuple, list] = {}
    for r in results:
        groups.setdefault(tuple(r[b] for b in by), []).append(r.get(key))
    return {group: over_seeds(values) for group, values in sorted(groups.items())}


def has_column(rows: Sequence[dict], key: str) -> bool:
    """Whether any of the result rows has ``key``: a table shows a column only where some run measured it."""
    return any(key in r for r in rows)


def occluded_title(report: Report) -> str:
    """The data set of figure 4's steps: Occluded Fashion-MNIST where they run on it, else Occluded CIFAR."""
    step = report.steps.get("figure4")
    return "Occluded Fashion-MNIST" if step is not None and step.config.get("dataset") == "fashion" else "Occluded CIFAR"
