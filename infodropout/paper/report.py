"""REPORT.md: every figure and table of a reproduction beside what the paper shows.

Reads what the steps of a :class:`~infodropout.paper.reproduce.Plan` left under the work folder (each
sweep's results.json, each histogram's summary, the figures), copies the figures next to the
report, and checks each of the paper's claims on our numbers, saying per claim whether it holds at
this scale. The paper prints numbers only for Table I; for the figures its claims are qualitative
(a trend, an ordering), so those are what is compared.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from infodropout.paper.machine import cpu_description
from infodropout.paper.reproduce import Plan
from infodropout.paper.verdicts import (
    FAILS, HOLDS, INCONCLUSIVE, RULE, VERDICTS, Measured, compare, difference, dip, every, from_bool, lower, over_seeds,
    estimate, tally, trend, with_error,
)

# Table I of the paper (SPEC §7): test lower bound in nats per image.
PAPER_TABLE1 = {"gaussian": {1: -98.8, 2: -99.0, 3: -98.7}, "information": {1: -100.0, 2: -99.1, 3: -99.1}}


class Report:
    """The report's text as it is built, with the figures it embeds copied into ``out/figures``."""

    def __init__(self, plan: Plan, work: Path, out: Path):
        self.plan, self.work, self.out = plan, work, out
        self.lines: list[str] = []
        ledger = work / "steps.json"
        self.ledger = json.loads(ledger.read_text()) if ledger.exists() else {}
        self.steps = {step.name: step for step in plan.steps}
        self.copied: set[Path] = set()
        self.figures = out / figures_folder(plan.scale)
        self.figures.mkdir(parents=True, exist_ok=True)
        self.section = ""
        self.verdicts: list[dict] = []  # every claim checked: section, claim, verdict

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: Sequence[str], rows: Sequence[Sequence]) -> None:
        self.add("| " + " | ".join(header) + " |", "|" + "---|" * len(header))
        self.add(*("| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows))
        self.add("")

    def done(self, name: str) -> bool:
        return self.ledger.get(name, {}).get("status") == "done"

    def folder(self, name: str) -> Path | None:
        """The folder a done step drew into (a sweep's or a run's), None if it has not run; the newest,
        should a changed plan have left an older one beside it."""
        folders = [p for p in (self.work / name).glob("*") if p.is_dir()] if self.done(name) else []
        return max(folders, key=lambda folder: folder.stat().st_mtime) if folders else None

    def results(self, name: str) -> list[dict] | None:
        folder = self.folder(name)
        path = folder / "results.json" if folder else None
        return json.loads(path.read_text()) if path and path.exists() else None

    def figure(self, name: str, filename: str, caption: str) -> None:
        """Embed the figure ``filename`` that step ``name`` drew: linked where it lies beside the report already
        (a plan whose work folder is committed, as the medium one's), else copied into the report's figures."""
        folder = self.folder(name)
        if folder is None or not (folder / filename).exists():
            self.add(f"*(figure {filename} of step {name} not drawn)*", "")
            return
        source = (folder / filename).resolve()
        if source.is_relative_to(self.out.resolve()):
            self.add(f"![{caption}]({source.relative_to(self.out.resolve()).as_posix()})", "")
            return
        target = self.figures / f"{name}-{filename}"
        shutil.copyfile(source, target)
        self.copied.add(target)
        self.add(f"![{caption}]({self.figures.name}/{target.name})", "")

    def drawn(self, path: Path, caption: str) -> None:
        """Embed a figure the report drew itself into its figures folder."""
        self.copied.add(path)
        self.add(f"![{caption}]({self.figures.name}/{path.name})", "")

    def provenance(self, *names: str) -> None:
        """The commands behind a section, their time, and the data they stand on."""
        for name in names:
            entry = self.ledger.get(name)
            if entry is None:
                self.add(f"- `{name}`: not run yet.")
                continue
            command = " ".join(a for a in entry["argv"] if not a.startswith("plots_dir="))
            self.add(f"- `./{command}` — {entry['status']}, {_duration(entry['seconds'])}, "
                     f"finished {entry['finished']}")
        for note in sorted({self.steps[name].note for name in names if self.steps[name].note}):
            self.add(f"- {note}.")
        stand_ins = {self.steps[name].stand_in for name in names if self.steps[name].stand_in}
        for stand_in in sorted(stand_ins):
            self.add(f"- **Data: {stand_in}.** The numbers below test the pipeline and the paper's qualitative "
                     "claims on real images, not CIFAR-10's values.")
        seeds = sorted({seed for name in names for seed in self.seeds(name)})
        if len(seeds) > 1:
            self.add(f"- Seeds {', '.join(map(str, seeds))}: tables give the mean ± the sample standard deviation "
                     "(n − 1) over seeds, figures the same as error bars.")
        self.add("")

    def seeds(self, name: str) -> list[int]:
        """The seeds of a done step's results (0 where a result names none: the scripts' default)."""
        return sorted({r.get("seed", 0) for r in self.results(name) or []})

    def missing(self, *names: str) -> bool:
        """Say which steps have no results yet; True if any."""
        absent = [name for name in names if not self.done(name)]
        if absent:
            self.add("Not reproduced in this run: " + ", ".join(
                f"`{name}` ({self.ledger.get(name, {}).get('status', 'not run')})" for name in absent) + ".", "")
        return bool(absent)


def _cell(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 0.01 and value != 0 else f"{value:.2f}"
    return str(value)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def figures_folder(scale: str) -> str:
    """The folder beside the report that holds its figures: ``figures`` for the small scale (results/REPORT.md),
    ``figures-<scale>`` for the others, so that reports of several scales share ``results/``."""
    return "figures" if scale == "small" else f"figures-{scale}"


def report_name(scale: str) -> str:
    return "REPORT.md" if scale == "small" else f"REPORT-{scale}.md"


def _paper(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _mean_std(values: Sequence[float]) -> str:
    measured = over_seeds(values)
    return "n/a" if measured is None else str(measured)


def _grouped(results: Sequence[dict], key: str, by: Sequence[str]) -> dict[tuple, Measured | None]:
    """``key`` of the results over seeds, per value of the ``by`` entries (e.g. per β)."""
    groups: dict[tuple, list] = {}
    for r in results:
        groups.setdefault(tuple(r[b] for b in by), []).append(r.get(key))
    return {group: over_seeds(values) for group, values in sorted(groups.items())}


def _per_seed(results: Sequence[dict], key: str, **where) -> dict[int, float]:
    """``key`` of the results matching ``where``, by seed."""
    return {r.get("seed", 0): r[key] for r in results
            if all(r.get(k) == v for k, v in where.items()) and r.get(key) is not None}


def _paired(a: dict[int, float], b: dict[int, float]) -> Measured | None:
    """a − b seed by seed (the seeds both have)."""
    return over_seeds(a[seed] - b[seed] for seed in sorted(set(a) & set(b)))


def _informative(bound: float | None) -> bool:
    """Whether a mutual-information lower bound says anything: a number above 0."""
    return bound is not None and bool(np.isfinite(bound)) and bound > 0


def _claims(report: Report, claims: Sequence[tuple[str, str, str | None]]) -> dict:
    """Tabulate each claim with what we measured and its verdict (holds / fails / inconclusive; None: not
    checkable on these numbers), record them for claims-<scale>.json, and return the tally."""
    report.table(["the paper's claim", "measured here", "verdict"],
                 [[claim, measured, "n/a" if verdict is None else f"**{verdict}**" if verdict == HOLDS else verdict]
                  for claim, measured, verdict in claims])
    report.verdicts += [{"section": report.section, "claim": claim, "verdict": verdict}
                        for claim, _, verdict in claims if verdict is not None]
    return tally(verdict for *_, verdict in claims)


# ---------------------------------------------------------------------------------------- sections

# A layer with a larger share of dead ReLU units marks its run as an optimisation failure (issue 13).
DEAD_LIMIT = 0.1


def figure3a(report: Report) -> dict:
    report.add("## Figure 3a: MNIST, fully connected network, error vs hidden units", "")
    report.provenance("figure3a")
    results = report.results("figure3a")
    if report.missing("figure3a") or results is None:
        return {}
    methods = [m for m in ("information", "binary", "lognormal", "none") if any(r["dropout"] == m for r in results)]
    widths = sorted({r["width"] for r in results})
    errors = {(m, w): [r["error"] for r in results if r["dropout"] == m and r["width"] == w]
              for m in methods for w in widths}
    seeds = len({r["seed"] for r in results})
    report.add(f"Test error (%), mean ± sample standard deviation (n − 1) over {seeds} seed(s):", "")
    report.table(["hidden units"] + methods, [[w] + [_mean_std(errors[m, w]) for m in methods] for w in widths])
    report.figure("figure3a", "figure3a.png", "Figure 3a")
    # The worst layer's share of dead ReLU units (0 on each of 1,000 training images), worst seed; runs of a
    # plan made before it was recorded have none.
    dead = {(m, w): max((r["dead_fraction_max"] for r in results if r["dropout"] == m and r["width"] == w
                         and r.get("dead_fraction_max") is not None), default=None) for m in methods for w in widths}
    if any(v is not None for v in dead.values()):
        report.add(f"Dead units (%): the share of a layer's ReLU units that output 0 on each of 1,000 training "
                   f"images, worst layer and seed. Above {DEAD_LIMIT:.0%} the method's error reflects an optimisation "
                   "failure (those units get no gradient again), not a regularisation effect, and a comparison "
                   "involving it is flagged below.", "")
        report.table(["hidden units"] + methods,
                     [[w] + ["n/a" if dead[m, w] is None else f"{100 * dead[m, w]:.1f}" for m in methods]
                      for w in widths])

    def failed(method, width) -> bool:
        return dead.get((method, width)) is not None and dead[method, width] > DEAD_LIMIT

    chosen_claim = _learning_rate_choice(report, errors, dead)

    def flagged(other: str, widths_compared: list[int]) -> str:
        bad = [w for w in widths_compared if failed("information", w) or failed(other, w)]
        return (f"; at {', '.join(map(str, bad))} units a method has more than {DEAD_LIMIT:.0%} dead units: an "
                "optimisation failure, not a regularisation effect") if bad else ""

    measured = {key: over_seeds(v) for key, v in errors.items()}
    seed_errors = {(m, w): _per_seed(results, "error", dropout=m, width=w) for m in methods for w in widths}

    def against(other: str, ws: list[int]) -> tuple[str, str]:
        verdict, text, held = _each([(f"at {w}", measured["information", w], measured[other, w]) for w in ws], -1)
        return verdict, f"information − {other}: {text}; holds at {held} of {len(ws)} widths"

    claims = []
    for other, claim in (("binary", "Information Dropout has a lower error than binary dropout"),
                         ("lognormal", "Information Dropout beats constant log-normal noise of the same variance"),
                         ("none", "Information Dropout has a lower error than no dropout")):
        if other in methods:
            verdict, text = against(other, widths)
            claims.append((claim, text + flagged(other, widths), verdict))
    if "binary" in methods and len(widths) > 1:
        # The gap binary − information at the smallest width against the largest, seed by seed.
        small, large = (_paired(seed_errors["binary", w], seed_errors["information", w]) for w in (widths[0], widths[-1]))
        verdict = compare(small, large, +1) if small and large else INCONCLUSIVE
        claims.insert(1, ("… especially on smaller networks",
                          f"binary − information: {small} points at {widths[0]} units, {large} at {widths[-1]}"
                          + flagged("binary", [widths[0], widths[-1]]), verdict))
    if chosen_claim:
        claims.append(chosen_claim)
    return _claims(report, claims)


def _each(pairs: Sequence[tuple[str, Measured | None, Measured | None]], direction: int) -> tuple[str, str, int]:
    """Several comparisons "a − b has the sign of ``direction``", one per (where, a, b): the verdict on them all
    (:func:`every`), the differences with their spreads as text ("+1.20 (spread 0.40) at 32, ..."), and how
    many hold."""
    verdicts = [compare(a, b, direction) for _, a, b in pairs]
    text = ", ".join(f"{with_error(*difference(a, b)) if a and b else 'n/a'} {where}" for where, a, b in pairs)
    return every(verdicts), text, verdicts.count(HOLDS)


PAPER_FC_RATE = 0.07  # the paper's learning rate for the fully connected network (SPEC §5), figure 3a's


def _learning_rate_choice(report: Report, errors: dict, dead: dict) -> tuple | None:
    """Figure 3a's method at a learning rate chosen on held-out training images (step figure3a-lr), beside
    the paper's rate; returns the claim Information vs that method at the chosen rate, or None."""
    if "figure3a-lr" not in report.steps:
        return None
    if not report.done("figure3a-lr"):
        report.provenance("figure3a-lr")
        report.missing("figure3a-lr")
        return None
    folder, results = report.folder("figure3a-lr"), report.results("figure3a-lr")
    if folder is None or results is None or not (folder / "choice.json").exists():
        return None
    choice = json.loads((folder / "choice.json").read_text())
    method, width, rate = choice["dropout"], choice["width"], choice["chosen"]
    report.add(f"### {method} dropout at a learning rate chosen on held-out training images ({width} units)", "")
    report.provenance("figure3a-lr")
    trials = sorted((r for r in results if r["validation"]), key=lambda r: -r["learning_rate"])
    report.add(f"Each rate trained {method} dropout once (seed {choice['seed']}) on the training images less the last "
               f"{choice['validation']:,}, which it was then scored on (the test set plays no part):", "")
    report.table(["learning rate", "validation error (%)", "dead units (%, worst layer)"],
                 [[r["learning_rate"], r["validation_error"], f"{100 * r['dead_fraction_max']:.1f}"] for r in trials])
    report.add(f"Chosen: **{rate}**, {choice['rule']}"
               + (" (every rate left a layer over the limit, so the lowest validation error overall)"
                  if choice.get("all_rates_kill_units") else "") + ". Then trained at it on the whole training set "
               "and tested, as figure 3a's runs:", "")
    final = [r for r in results if not r["validation"] and r["learning_rate"] == rate]
    rows = []
    if errors.get((method, width)):
        rows.append([f"{PAPER_FC_RATE} (the paper's; figure 3a)" + (", chosen" if rate == PAPER_FC_RATE else ""),
                     _mean_std(errors[method, width]),
                     "n/a" if dead.get((method, width)) is None else f"{100 * dead[method, width]:.1f}"])
    if final and not (rate == PAPER_FC_RATE and rows):
        rows.append([f"{rate} (chosen)", _mean_std([r["error"] for r in final]),
                     f"{100 * max(r['dead_fraction_max'] for r in final):.1f}"])
    report.table(["learning rate", f"{method} test error (%)", "dead units (%, worst layer and seed)"], rows)
    if not final or not errors.get(("information", width)) or rate == PAPER_FC_RATE:
        return None  # (at the paper's rate the comparison is figure 3a's own claim)
    chosen_error = over_seeds(r["error"] for r in final)
    information = over_seeds(errors["information", width])
    still_dead = max(r["dead_fraction_max"] for r in final) > DEAD_LIMIT
    return (f"Information Dropout has a lower error than {method} dropout at {method}'s chosen learning rate "
            f"({width} units)",
            f"information {information} % (at {PAPER_FC_RATE}) vs {method} {chosen_error} % (at {rate})"
            + (f"; {method} still has more than {DEAD_LIMIT:.0%} dead units" if still_dead else ""),
            lower(information, chosen_error))


LATENT_LABELS = {"gaussian": "Gaussian", "information": "Information, log-uniform",
                 "information-log-normal": "Information, log-normal"}


def table1(report: Report) -> dict:
    report.add("## Table I: VAE on binarised MNIST, test variational lower bound (nats per image)", "")
    report.provenance("table1", "table1-log-normal")
    results = report.results("table1") or []
    results += [{**r, "latent": "information-log-normal"} for r in report.results("table1-log-normal") or []]
    if report.missing("table1") or not results:
        return {}
    bound = {(r["latent"], r["k"]): r for r in results}
    ks = sorted({r["k"] for r in results})
    latents = [latent for latent in LATENT_LABELS if any(key[0] == latent for key in bound)]
    stopping = [r for r in results if "best_epoch" in r]
    report.add("Ours: the bound E log p(x|z) − KL on the test images (z drawn from q(z|x)). The paper's Information "
               "column is compared with our Information latent with Softplus and a learned log-normal prior, whose "
               "KL is a proper one, so its bound is a true bound; with the paper's log-uniform prior the KL is only "
               "defined up to a constant (an improper prior), so that column is not a bound and not comparable.", "")
    if stopping:
        held_out = sorted({r["validation"] for r in stopping})
        report.add(f"Each run trained until the bound on {', '.join(map(str, held_out))} held-out *training* images "
                   "(never test images) had not improved for the run's patience, or to its epoch limit; the "
                   "checkpoint, and so the test bound, is the best validation epoch's.", "")

    def value(latent, k, key="elbo"):
        entry = bound.get((latent, k))
        return None if entry is None else f"{entry[key]:.1f}"

    report.table(["k", "Gaussian (ours)", "Gaussian (paper)", "Information, log-normal (ours)",
                  "Information (paper)", "Information, log-uniform (ours; not a bound)"],
                 [[k, value("gaussian", k), _paper(PAPER_TABLE1["gaussian"].get(k)),
                   value("information-log-normal", k), _paper(PAPER_TABLE1["information"].get(k)),
                   value("information", k)] for k in ks])
    report.add("Its parts, E log p(x|z) / KL:", "")
    report.table(["k"] + [LATENT_LABELS[latent] for latent in latents],
                 [[k] + [f"{value(latent, k, 'reconstruction')} / {value(latent, k, 'kl')}"
                         if (latent, k) in bound else "n/a" for latent in latents] for k in ks])
    converged = None
    if stopping:
        report.add("When each run stopped: the best validation epoch (kept), the epochs trained, and why it ended "
                   "(its patience ran out: converged on this data; or the epoch limit: still improving).", "")
        rows = []
        for r in sorted(stopping, key=lambda r: (latents.index(r["latent"]), r["k"])):
            limit = r["last_epoch"] >= r["max_epochs"] and r["best_epoch"] == r["last_epoch"]
            reason = "epoch limit, still improving" if limit else \
                "epoch limit" if r["last_epoch"] >= r["max_epochs"] else "patience ran out"
            rows.append([LATENT_LABELS[r["latent"]], r["k"], r["best_epoch"], r["last_epoch"], r["max_epochs"],
                         f"{r['curve'][-1]['val_elbo']:.1f}" if r.get("curve") else "n/a", reason])
        report.table(["latent", "k", "best epoch", "epochs trained", "epoch limit", "last validation bound",
                      "ended by"], rows)
        converged = all(row[-1] == "patience ran out" for row in rows)
        curves = {f"{LATENT_LABELS[r['latent']]}, k = {r['k']}": r["curve"] for r in stopping if r.get("curve")}
        if curves:
            from infodropout.paper.plots import plot_learning_curves

            best = {f"{LATENT_LABELS[r['latent']]}, k = {r['k']}": r["best_epoch"] for r in stopping}
            improper = [f"{LATENT_LABELS[r['latent']]}, k = {r['k']}" for r in stopping
                        if r.get("curve") and r["latent"] == "information"]  # the log-uniform prior
            [path] = plot_learning_curves(curves, report.figures / "table1-learning-curve", best, not_bounds=improper)
            report.drawn(path, "VAE learning curves: validation bound per epoch")
    gaussian = [k for k in ks if ("gaussian", k) in bound and k in PAPER_TABLE1["gaussian"]]
    proper = [k for k in ks if ("information-log-normal", k) in bound and k in PAPER_TABLE1["information"]]
    if gaussian or proper:
        gaps = [f"Gaussian {bound['gaussian', k]['elbo'] - PAPER_TABLE1['gaussian'][k]:+.1f} (k = {k})"
                for k in gaussian]
        gaps += [f"Information, log-normal {bound['information-log-normal', k]['elbo'] - PAPER_TABLE1['information'][k]:+.1f}"
                 f" (k = {k})" for k in proper]
        trained = sorted({r["train_images"] for r in results if "train_images" in r})
        sizes = sorted({r.get("validation", 0) for r in results})
        # The training bound (the epoch's running mean, noise on) against the validation bound at the kept epoch.
        overfit = [(r, r["curve"][r["best_epoch"] - 1]) for r in stopping
                   if r.get("curve") and 0 < r["best_epoch"] <= len(r["curve"])]
        report.add("How far from the paper's ≈ −99 nats (ours minus the paper's): " + ", ".join(gaps) + ". The "
                   "paper trains on MNIST's 60,000 training digits for 300 epochs; this scale trains on "
                   + (f"{', '.join(f'{n:,}' for n in trained)} digits" if trained else "fewer digits")
                   + (f" ({sizes[-1]:,} more held out for validation)" if sizes[-1] else "")
                   + ", and on so few digits a VAE generalises worse: the bound on unseen digits stops improving "
                   "below what 60,000 digits reach"
                   + ("" if converged or not stopping else ", and where a run ended at its epoch limit it had not "
                      "even converged") + ".", "")
        if overfit:
            report.add("Training bound minus validation bound at the kept epoch (how much better the runs fit the "
                       "digits they train on): " + ", ".join(
                           f"{LATENT_LABELS[r['latent']]} {point['elbo'] - point['val_elbo']:+.1f} (k = {r['k']})"
                           for r, point in overfit) + " nats.", "")
    report.figure("vae-samples-gaussian", "samples.png", "VAE samples, Gaussian latent")
    report.figure("vae-samples-information", "samples.png", "VAE reconstructions, Information latent")
    claims = []
    proper = [k for k in ks if ("gaussian", k) in bound and ("information-log-normal", k) in bound]
    if proper:
        gaps = [bound["information-log-normal", k]["elbo"] - bound["gaussian", k]["elbo"] for k in proper]
        claims.append(("the Information latent's bound is within about 1 nat of the Gaussian's (paper: −100.0 vs "
                       "−98.8 at k = 1); checked as within ±1.5 nats",
                       "log-normal minus Gaussian: " + ", ".join(f"{g:+.1f} (k = {k})" for g, k in zip(gaps, proper)),
                       from_bool(all(abs(g) <= 1.5 for g in gaps))))
    gaussian = [k for k in ks if ("gaussian", k) in bound and k in PAPER_TABLE1["gaussian"]]
    if gaussian:
        gaps = [bound["gaussian", k]["elbo"] - PAPER_TABLE1["gaussian"][k] for k in gaussian]
        claims.append(("the Gaussian VAE's bound is about −99 nats; checked as within ±2 nats of the paper's",
                       "ours minus the paper's: " + ", ".join(
            f"{g:+.1f} (k = {k})" for g, k in zip(gaps, gaussian)), from_bool(all(abs(g) <= 2 for g in gaps))))
    return _claims(report, claims)


def figure1(report: Report) -> dict:
    report.add("## Figure 1: post-noise activations of the last dropout layer against the prior", "")
    names = ("figure1-relu-train", "figure1-relu", "figure1-softplus")
    report.provenance(*names)
    report.missing("figure1-relu", "figure1-softplus")
    rows, claims = [], []
    for name, label in (("figure1-relu", "ReLU, log-uniform prior"),
                        ("figure1-softplus", "Softplus, log-normal prior")):
        folder = report.folder(name)
        if folder is None or not (folder / "histogram.json").exists():
            continue
        summary = json.loads((folder / "histogram.json").read_text())
        rows.append([label, summary["log_z_mean"], summary["log_z_std"], f"{100 * summary['zero_fraction']:.1f}",
                     summary.get("prior_mean", "– (flat in log z)"), summary.get("prior_std", "–")])
        report.figure(name, "histogram.png", label)
        if "prior_mean" in summary:
            claims.append(("Softplus: log z follows the learned log-normal prior; checked as |mean − μ| ≤ σ/2 and "
                           "std/σ within [0.5, 2]",
                           f"log z mean {summary['log_z_mean']:.2f} vs μ {summary['prior_mean']:.2f}, "
                           f"std {summary['log_z_std']:.2f} vs σ {summary['prior_std']:.2f}",
                           from_bool(abs(summary["log_z_mean"] - summary["prior_mean"]) <= 0.5 * summary["prior_std"]
                                     and 0.5 <= summary["log_z_std"] / summary["prior_std"] <= 2.0)))
        else:
            claims.append(("ReLU: log z spreads over a wide range, roughly flat (log-uniform)",
                           f"log z spans std {summary['log_z_std']:.2f}; {100 * summary['zero_fraction']:.1f} % of "
                           "the units are 0 (no log); judge the flatness on the histogram", None))
    if rows:
        report.table(["network", "mean of log z", "std of log z", "units at 0 (%)", "prior μ", "prior σ"], rows)
        return _claims(report, claims)


def figure3b_6(report: Report) -> dict:
    report.add("## Figures 3b and 6: All-CNN-32 (Softplus) vs the share of the filters", "")
    report.provenance("figure3b-6")
    results = report.results("figure3b-6")
    if report.missing("figure3b-6") or results is None:
        return {}
    methods = [m for m in ("information", "binary", "none") if any(r["dropout"] == m for r in results)]
    shares = sorted({r["filter_percentage"] for r in results})
    error = _grouped(results, "error", ("dropout", "filter_percentage"))
    report.add("Figure 3b, test error (%):", "")
    report.table(["share of the filters"] + methods,
                 [[f"{s:g}"] + [error.get((m, s)) or "n/a" for m in methods] for s in shares])
    report.figure("figure3b-6", "figure3b.png", "Figure 3b")
    information = [r for r in results if r["dropout"] == "information"]
    info_shares = sorted({r["filter_percentage"] for r in information})
    layers = sorted({key.rsplit(".", 1)[0] for r in information for key in r if key.endswith(".total")})
    kl = {(layer, measure): _grouped(information, f"{layer}.{measure}", ("filter_percentage",))
          for layer in layers for measure in ("total", "per_unit")}
    report.add("Figure 6, information (KL, nats per image) through each dropout layer, in total and per unit:", "")
    report.table(["share of the filters"] + [f"{layer} total" for layer in layers]
                 + [f"{layer} per unit" for layer in layers],
                 [[f"{s:g}"] + [kl[layer, "total"].get((s,)) or "n/a" for layer in layers]
                  + [kl[layer, "per_unit"].get((s,)) or "n/a" for layer in layers] for s in info_shares])
    report.figure("figure3b-6", "figure6-total.png", "Figure 6a")
    report.figure("figure3b-6", "figure6-per_unit.png", "Figure 6b")
    claims = []
    if "binary" in methods:
        verdict, text, _ = _each([(f"(share {s})", error.get(("information", s)), error.get(("binary", s)))
                                  for s in shares], -1)
        claims.append(("3b: Information Dropout has a lower error than binary dropout",
                       f"information − binary: {text}", verdict))
    if len(layers) >= 2:
        first, last = layers[0], layers[-1]
        def layers_compared(measure: str, direction: int) -> tuple[str, str]:
            verdict, text, _ = _each([(f"(share {s})", kl[last, measure].get((s,)), kl[first, measure].get((s,)))
                                      for s in info_shares], direction)
            return verdict, f"{last} − {first} ({'total KL' if measure == 'total' else 'KL per unit'}): {text}"

        verdict, text = layers_compared("total", -1)
        claims.append(("6a: the second layer transmits less information in total than the first", text, verdict))
        for layer in (first, last):
            verdict, text = trend(info_shares, [kl[layer, "per_unit"].get((s,)) for s in info_shares], -1)
            claims.append((f"6b: fewer filters, more information per unit ({layer})",
                           f"information per unit vs share: {text}", verdict))
        verdict, text = layers_compared("per_unit", +1)
        claims.append(("6b: units of the top dropout layer carry more information than the bottom layer's", text,
                       verdict))
    return _claims(report, claims)


def figure5(report: Report) -> dict:
    report.add("## Figure 5: test error and total correlation vs β (All-CNN-32, Softplus)", "")
    report.provenance("figure5")
    results = report.results("figure5")
    if report.missing("figure5") or results is None:
        return {}
    keys = ("error", "total_correlation", "total_correlation_raw", "total_correlation_bias")
    by_beta = {key: _grouped(results, key, ("beta",)) for key in keys}
    betas = sorted({r["beta"] for r in results})
    report.table(["β", "test error (%)", "total correlation per unit, bias-corrected (nats)",
                  "raw plug-in value", "bias of the raw value"],
                 [[b] + [by_beta[key].get((b,)) or "n/a" for key in keys] for b in betas])
    report.add("The total correlation is the Gaussian log-determinant estimate on the test set's log activations; "
               "its plug-in value is biased upward by an amount fixed by the numbers of samples and units "
               "(`total_correlation_bias`, exact for Gaussian data), which is subtracted. The same bias at every β "
               "shifts the raw curve but not its trend.", "")
    report.figure("figure5", "figure5-error.png", "Figure 5, test error")
    report.figure("figure5", "figure5-tc.png", "Figure 5, total correlation")
    tc_verdict, tc_text = trend(betas, [by_beta["total_correlation"].get((b,)) for b in betas], -1)
    dip_verdict, dip_text = dip(betas, [by_beta["error"].get((b,)) for b in betas])
    claims = [("total correlation falls as β grows", f"TC vs β: {tc_text}", tc_verdict),
              ("the error first falls with β, then rises when β is too large",
               dip_text.replace("x =", "β =") + f" (range {betas[0]}–{betas[-1]})", dip_verdict)]
    return _claims(report, claims)


def _occluded(report: Report) -> str:
    """The data set of figure 4's steps: Occluded Fashion-MNIST where they run on it, else Occluded CIFAR."""
    step = report.steps.get("figure4")
    return "Occluded Fashion-MNIST" if step is not None and "dataset=fashion" in step.args else "Occluded CIFAR"


def figure4(report: Report) -> dict:
    fashion = _occluded(report) == "Occluded Fashion-MNIST"
    report.add(f"## Figure 4: {_occluded(report)}, main task and nuisance error vs β", "")
    if "figure4" in report.plan.skipped:
        report.add(f"Not run at this scale: {report.plan.skipped['figure4']}.", "")
        return {}
    report.provenance("figure4")
    results = report.results("figure4")
    if report.missing("figure4") or results is None:
        return {}
    if fashion:
        report.add("Each Fashion-MNIST image (the main task: its clothing class) is occluded by an MNIST digit (the "
                   "nuisance), drawn as the paper's Occluded CIFAR occluders are; the nuisance error is that of a "
                   "classifier of the digit trained on the frozen noisy representation.", "")
    keys = ("main_error_N", "main_error_D", "nuisance_error")
    by_beta = {key: _grouped(results, key, ("beta",)) for key in keys}
    betas = sorted({r["beta"] for r in results})
    report.table(["β", "main task, noisy N (%)", "main task, deterministic D (%)", "nuisance digit (%)"],
                 [[b] + [by_beta[key].get((b,)) or "n/a" for key in keys] for b in betas])
    report.figure("figure4", "figure4.png", "Figure 4")
    verdict, text = trend(betas, [by_beta["nuisance_error"].get((b,)) for b in betas], +1)
    claims = [("the nuisance error grows with β (the representation becomes invariant to the digit)",
               f"nuisance error vs β: {text}", verdict)]
    # The paper: larger β also "improves the performance on the main task by preventing overfitting".
    verdict, text = trend(betas, [by_beta["main_error_D"].get((b,)) for b in betas], -1)
    claims.append(("larger β improves the main task by preventing overfitting: the main error (D) falls with β",
                   f"main error (D) vs β: {text}", verdict))
    lowest = min((m.mean for m in by_beta["nuisance_error"].values() if m is not None), default=None)
    if lowest is not None:
        report.add(f"For scale: a classifier that ignores the digit errs on 90 % of the images (10 digits); the nuisance "
                   f"error is at least {lowest:.1f} % at every β here.", "")
    return _claims(report, claims)


def figure2(report: Report) -> dict:
    report.add("## Figures 2 and 7: Cluttered MNIST, KL heatmaps and localisation vs β", "")
    plotted = [step.name.removeprefix("figure2-beta") for step in report.plan.steps
               if step.name.startswith("figure2-beta")]
    report.provenance("figure2-sweep", *(f"figure2-beta{b}" for b in plotted))
    results = report.results("figure2-sweep")
    if report.missing("figure2-sweep") or results is None:
        return {}
    betas = sorted({r["beta"] for r in results})
    layers = sorted({key.split(".")[0] for r in results for key in r if key.endswith(".mass_inside")})
    error = _grouped(results, "error", ("beta",))
    mass = {layer: _grouped(results, f"{layer}.mass_inside", ("beta",)) for layer in layers}
    peak = {layer: _grouped(results, f"{layer}.max_inside", ("beta",)) for layer in layers}

    def share(value: Measured | None) -> str:
        return "n/a" if value is None else value.text(digits=3)

    report.add("Test error, and per dropout layer the share of the KL mass inside the digit's box / the share of "
               "test images whose map peaks inside it:", "")
    report.table(["β", "test error (%)"] + layers,
                 [[b, error.get((b,)) or "n/a"] + [f"{share(mass[layer].get((b,)))} / {share(peak[layer].get((b,)))}"
                                                   for layer in layers] for b in betas])
    report.add("In the heatmaps each layer's column has its own colour scale (the 1st–99th percentile of its KL in "
               "that figure, its colour bar under it), so that every β shows its structure: compare magnitudes "
               "across β by the bars' numbers, not by colour. Beside each row, the true digit and the prediction; "
               "the cyan rectangle is the target digit's box; the last row is a blank canvas, whose maps show what the zero "
               "padding of the SAME convolutions draws alone: the bands along the bottom and right edges of the "
               "deeper layers are that padding (stride 2 pads after the input only), not signal. The heatmaps are "
               "seed 0's.", "")
    for beta in plotted:
        report.figure(f"figure2-beta{beta}", "heatmaps.png", f"KL heatmaps at β = {beta}")
    claims = []
    for layer in layers[1:]:
        verdict, text = trend(betas, [peak[layer].get((b,)) for b in betas], +1)
        claims.append((f"at higher β the KL concentrates on the digit ({layer})",
                       f"share of maps peaking in the box vs β: {text}", verdict))
    return _claims(report, claims)


def independent_estimates(report: Report) -> dict:
    """Issue 16: per experiment, the probe sweeps' estimates (probes, MINE, NDM) against β, beside the
    paper's own quantities (total correlation, KL); the claims they test, where they disagree with them."""
    report.add("## Independent estimates: probes, MINE and NDM vs β", "",
               "Estimators that share none of the paper's assumptions (infodropout.estimators): linear and MLP "
               "probes trained on the frozen last dropout layer's output z (held-out error), MINE lower bounds of "
               "I(z; y) and I(z; nuisance), the neural dependency measure (NDM: a Donsker–Varadhan estimate of "
               "how far z is from independent units, the quantity figure 5's total correlation approximates), and "
               "per dropout layer a MINE lower bound of I(x; z) beside the layer's KL, which bounds it from above. "
               "N: noisy representation; D: deterministic. Each estimate is on held-out test images; ± is its "
               "standard error over evaluation batches.", "")
    total = dict.fromkeys(VERDICTS, 0)
    occluded = _occluded(report)
    for name, title, related_step in (("probes-figure5", "All-CNN-32, Softplus (figure 5's runs)", "figure5"),
                                      ("probes-figure4", f"{occluded} (figure 4's runs)", "figure4"),
                                      ("probes-figure2", "Cluttered MNIST (figures 2 and 7's runs)", "figure2-sweep")):
        if name not in report.steps:
            continue
        report.add(f"### {title}", "")
        report.provenance(name)
        results = report.results(name)
        if report.missing(name) or results is None:
            continue
        results = sorted(results, key=lambda r: r["beta"])
        nuisance = any("N.mi_nuisance" in r for r in results)
        # Figure 5's total correlation of the same runs (seed 0's: the probes read seed 0's runs).
        tc_seed0 = {r["beta"]: r.get("total_correlation") for r in report.results(related_step) or []
                    if r.get("seed", 0) == 0}
        header = ["β", "linear / MLP task error N (%)", "linear / MLP task error D (%)", "I(z; y) N (nats)"]
        header += ["linear / MLP nuisance error N (%)", "I(z; nuisance) N (nats)"] if nuisance else []
        header += ["NDM (nats)"] + (["total correlation per unit"] if any(v is not None for v in tc_seed0.values())
                                    else [])
        rows = []
        for r in results:
            row = [r["beta"], f"{r['N.linear_task_error']:.1f} / {r['N.mlp_task_error']:.1f}",
                   f"{r['D.linear_task_error']:.1f} / {r['D.mlp_task_error']:.1f}",
                   f"{r['N.mi_task']:.3f} ± {r['N.mi_task_stderr']:.3f}"]
            if nuisance:
                row += [f"{r['N.linear_nuisance_error']:.1f} / {r['N.mlp_nuisance_error']:.1f}",
                        f"{r['N.mi_nuisance']:.3f} ± {r['N.mi_nuisance_stderr']:.3f}"]
            row += [f"{r['ndm']:.3f} ± {r['ndm_stderr']:.3f}"]
            if len(header) > len(row):
                row.append(tc_seed0.get(r["beta"]))
            rows.append(row)
        report.table(header, rows)
        layers = sorted({key[:-len(".kl")] for r in results for key in r if key.endswith(".kl")})
        report.add("Per dropout layer, KL (nats per image; an upper bound of I(x; z)) / MINE lower bound of "
                   "I(f(x); z) ≤ I(x; z) (nats):", "")
        report.table(["β"] + layers, [[r["beta"]] + [f"{r[f'{layer}.kl']:.2f} / {r[f'{layer}.mine_x_z']:.3f}"
                                                     for layer in layers] for r in results])
        report.figure(name, "ndm.png", f"NDM vs β, {title}")
        report.figure(name, "kl-vs-mine.png", f"KL vs MINE per layer, {title}")
        betas = [r["beta"] for r in results]
        claims = []
        every_pair = [(r["beta"], layer, r[f"{layer}.kl"], r[f"{layer}.mine_x_z"], r[f"{layer}.mine_x_z_stderr"])
                      for r in results for layer in layers]
        # A MINE bound that is not a number, or not above 0, says nothing of I(x; z) (which is ≥ 0): its critic
        # failed to train or found no dependence. Only the informative bounds test the KL.
        pairs = [pair for pair in every_pair if _informative(pair[3])]
        failed = len(every_pair) - len(pairs)
        failed_text = (f"; {failed} of {len(every_pair)} MINE bounds are not above 0 or not a number (the estimator "
                       "failed there) and are left out") if failed else ""
        below = [(b, layer) for b, layer, kl, mine, stderr in pairs if mine - stderr > kl]
        if pairs:
            # How much room the inequality leaves: the smallest KL − MINE and KL / MINE.
            margin = min(kl - mine for _, _, kl, mine, _ in pairs)
            ratio = min(kl / mine for _, _, kl, mine, _ in pairs)
            room = f"; least margin KL − MINE {margin:.1f} nats, least ratio KL / MINE {ratio:.0f}" + (
                ": the bound holds trivially (the KL is orders of magnitude above what MINE finds)" if ratio > 10 else "")
            claims.append(("each layer's KL is at least the information it lets through (KL ≥ the MINE lower bound, "
                           "within one standard error)",
                           f"{len(pairs) - len(below)} of {len(pairs)} (β, layer) pairs"
                           + (": fails at " + ", ".join(f"β = {b} ({layer})" for b, layer in below) if below else room)
                           + failed_text, from_bool(not below)))
        else:
            claims.append(("each layer's KL is at least the information it lets through (KL ≥ the MINE lower bound)",
                           f"no informative MINE bound{failed_text}", None))
        ndm = [estimate(r["ndm"], r["ndm_stderr"]) for r in results]
        ndm_verdict, ndm_text = trend(betas, ndm, -1)
        claims.append(("the units grow more independent with β: NDM falls with β (± its standard error)",
                       f"NDM vs β: {ndm_text}", ndm_verdict))
        related = report.results(related_step) or []
        tc = _grouped(related, "total_correlation", ("beta",))
        if any(v is not None for v in tc.values()):
            tc_verdict, tc_text = trend(sorted(b for (b,) in tc), [tc[key] for key in sorted(tc)], -1)
            agree = {(HOLDS, HOLDS): HOLDS, (HOLDS, FAILS): FAILS, (FAILS, HOLDS): FAILS, (FAILS, FAILS): HOLDS}
            claims.append(("NDM and the Gaussian total correlation agree on the trend",
                           f"NDM: {ndm_verdict}; total correlation ({related_step}'s runs): {tc_verdict}, {tc_text}",
                           agree.get((ndm_verdict, tc_verdict), INCONCLUSIVE)))
        if nuisance:
            bounds = [estimate(r["N.mi_nuisance"], r["N.mi_nuisance_stderr"]) for r in results]
            if all(_informative(r["N.mi_nuisance"]) for r in results):
                verdict, text = trend(betas, bounds, -1)
            else:
                verdict, text = None, "MINE bounds not above 0 at some β: the estimator failed there, no trend is read"
            claims.append(("the nuisance leaves the representation: I(z; nuisance) falls with β (± its standard "
                           "error)", f"MINE I(z; nuisance) vs β: {text}", verdict))
            verdict, text = trend(betas, [over_seeds([r["N.linear_nuisance_error"]]) for r in results], +1)
            claims.append(("… and a linear probe reads the nuisance less well as β grows (one seed)",
                           f"linear nuisance probe error vs β: {text}", verdict))
        outcome = _claims(report, claims)
        total = {key: total[key] + outcome[key] for key in total}
    return total if any(total.values()) else {}


SECTIONS: tuple[tuple[str, Callable[[Report], dict]], ...] = (
    ("Figure 1", figure1), ("Figures 2 and 7", figure2), ("Figure 3a", figure3a), ("Figures 3b and 6", figure3b_6),
    ("Figure 4", figure4), ("Figure 5", figure5), ("Table I", table1),
    ("Independent estimates", independent_estimates),
)


def machine() -> str:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("tensorflow", "keras"))
    return f"{os.cpu_count()} CPU cores ({cpu_description()}), {platform.system()} {platform.release()}; {versions}"


def write_report(plan: Plan, work_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write the report of ``plan`` into ``out_dir`` (REPORT.md for the small scale, REPORT-<scale>.md for the
    others; figures in figures/ or figures-<scale>/) from what its steps left in ``work_dir``, with
    claims-<scale>.json, every claim's verdict; steps not yet run are named as such. The report opens with
    each claim's verdict at every scale whose claims file lies in ``out_dir``. Returns the report's path."""
    work, out = Path(work_dir), Path(out_dir)
    report = Report(plan, work, out)
    body = Report(plan, work, out)
    body.ledger = report.ledger
    outcomes = {}
    for title, section in SECTIONS:
        body.section = title
        outcomes[title] = section(body)
    claims_path = out / f"claims-{plan.scale}.json"
    claims_path.write_text(json.dumps(body.verdicts, indent=1, ensure_ascii=False) + "\n")
    total = sum(report.ledger[step.name]["seconds"] for step in plan.steps if step.name in report.ledger)
    # Each stand-in data set, with what ran on it: CIFAR-10's figures (cifar.py) or figure 4 (occluded.py).
    stand_ins = {step.stand_in: "figure 4 (Occluded CIFAR)" if step.script == "occluded.py" else
                 "the All-CNN-32 experiments (figures 1, 3b, 5, 6)" for step in plan.steps if step.stand_in}
    report.add(f"# Reproduction report: the {plan.scale} scale", "",
               f"Written {time.strftime('%Y-%m-%d')} by `./reproduce.py --scale {plan.scale}` on {machine()}. "
               f"The steps took {_duration(total)} in all (each step's own time is given in its section; a step "
               "reused from an earlier invocation keeps the time it took then).", "")
    unfinished = [step.name for step in plan.steps if not report.done(step.name)]
    if unfinished:
        report.add(f"**Unfinished.** {len(unfinished)} of {len(plan.steps)} steps have no results yet "
                   f"({', '.join(unfinished)}); their sections say so. Running the plan again goes on from here.", "")
    if plan.scale != "full":
        report.add(f"**Scale.** These are not the paper's runs: at the {plan.scale} scale every experiment trains on "
                   "fewer images for fewer epochs (and some with fewer filters) than the paper, as each section's "
                   "commands show; numbers are not expected to match the paper's, only its trends, and a claim "
                   "that fails here is not refuted at full scale. `./reproduce.py --scale full` runs the paper's "
                   "protocol.", "")
    for stand_in, experiments in sorted(stand_ins.items()):
        report.add(f"**Stand-in data.** CIFAR-10 is not on this machine, so {experiments} ran on the {stand_in}; "
                   "their numbers are not CIFAR-10's.", "")
    report.add(f"**Verdicts.** {RULE}", "")
    _verdicts_across_scales(report, out, plan.scale, body.verdicts)
    report.add("Per section, at this scale:", "")
    report.add("| figure / table | holds | fails | inconclusive |", "|---|---|---|---|")
    for title, outcome in outcomes.items():
        if outcome:
            report.add(f"| {title} | {outcome[HOLDS]} | {outcome[FAILS]} | {outcome[INCONCLUSIVE]} |")
        else:
            reason = "not run at this scale" if title == "Figure 4" and "figure4" in plan.skipped else "no results yet"
            report.add(f"| {title} | {reason} | – | – |")
    report.add("", "A claim reads “n/a” where it cannot be checked on these numbers (judged by eye on the figure); "
               "it is not counted.", "")
    report.lines += body.lines
    path = out / report_name(plan.scale)
    path.write_text("\n".join(report.lines).rstrip() + "\n")
    # The figures folder belongs to the report: drop what an earlier report embedded and this one does not.
    for stale in set(report.figures.glob("*.png")) - body.copied:
        stale.unlink()
    return path


def _verdicts_across_scales(report: Report, out: Path, scale: str, verdicts: list[dict]) -> None:
    """One row per claim: its verdict at each scale whose claims-<scale>.json lies in ``out`` (written by that
    scale's report), this one's from ``verdicts``."""
    from infodropout.paper.reproduce import SCALES

    by_scale = {}
    for other in SCALES:
        path = out / f"claims-{other}.json"
        if other == scale:
            by_scale[other] = verdicts
        elif path.exists():
            by_scale[other] = json.loads(path.read_text())
    scales = [other for other in SCALES if other in by_scale]
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for other in scales:
        for entry in by_scale[other]:
            rows.setdefault((entry["section"], entry["claim"]), {})[other] = entry["verdict"]
    if not rows:
        return
    report.add("Every claim's verdict at each scale whose report is in this folder:", "")
    report.table(["section", "the paper's claim"] + [f"{other} scale" for other in scales],
                 [[section, claim] + [per.get(other, "–") for other in scales]
                  for (section, claim), per in rows.items()])
