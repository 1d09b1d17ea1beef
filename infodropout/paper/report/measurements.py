"""What each claim of the paper measures on a reproduction's runs: one function per claim, reading the report's
results and returning its verdict and what it measured (:mod:`infodropout.paper.report.claims` holds the records that
name them). A function raises :class:`NotMeasured` where the results lack what it reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from infodropout.paper.report import preconditions as pre
from infodropout.paper.report.recorded import judged, noted, unsettled
from infodropout.paper.report.verdicts import (
    FAILS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, SESOI, SESOI_STATED_AFTER, Difference, below_sesoi, Measured, direction,
    every, finite, not_worse, one_sample, over_seeds, paired, slope, welch,
)

if TYPE_CHECKING:
    from infodropout.paper.report.page import Report

# Table I of the paper (SPEC §7): test lower bound in nats per image.
PAPER_TABLE1 = {"gaussian": {1: -98.8, 2: -99.0, 3: -98.7}, "information": {1: -100.0, 2: -99.1, 3: -99.1}}
T1_TOLERANCE = 1.5  # nats: "the Information latent's bound ≈ the Gaussian's"
MNIST_TRAIN_DIGITS = 60_000
# Figure 1: KS distance of log z's central 90 % to a uniform: a flat density reads 0; an exact normal reads
# infodropout.log_activations.KS_NORMAL_TO_UNIFORM_CENTRAL (0.078). The claim holds up to FLAT, fails from BELL.
FLAT, BELL = 0.05, 0.0776
# Figure 1 Softplus: log z against a normal. Holds where all three are within the first bounds; fails where any
# reaches the second: a shape as far from normal as a uniform is (KS 0.058, excess kurtosis −1.2), or |skew| ≥ 1.
NORMAL_KS, NORMAL_SKEW, NORMAL_KURTOSIS = 0.03, 0.5, 1.0
NOT_NORMAL_KS, NOT_NORMAL_SKEW, NOT_NORMAL_KURTOSIS = 0.05, 1.0, 1.2


class NotMeasured(Exception):
    """The results lack what a claim's measurement reads (a plan run before it was recorded)."""


# ------------------------------------------------------------------------------------------- reading results

def results_of(report: Report, step: str) -> list[dict]:
    rows = report.results(step) if step in report.steps else None
    if rows is None:
        raise NotMeasured(f"step {step} has no results")
    return rows


def measured_by(rows: Sequence[dict], key: str, **where) -> Measured | None:
    return over_seeds(r.get(key) for r in rows if all(r.get(k) == v for k, v in where.items()))


def seed_values(rows: Sequence[dict], key: str, **where) -> dict[int, float]:
    return {r.get("seed", 0): r[key] for r in rows
            if all(r.get(k) == v for k, v in where.items()) and r.get(key) is not None}


def require(rows: Sequence[dict], *keys: str) -> None:
    for key in keys:
        if not any(key in r for r in rows):
            raise NotMeasured(f"no `{key}` in the results")


def _positive_betas(rows: Sequence[dict]) -> list[float]:
    return sorted({r["beta"] for r in rows if r["beta"] > 0})


def trend(rows: Sequence[dict], key: str, sign: int, x: str = "beta", label: str = "") -> tuple[str, str]:
    """The slope of ``key`` over log₂ ``x`` (x > 0), every seed's point."""
    require(rows, key)
    xs = sorted({r[x] for r in rows if r[x] > 0})
    measured = [measured_by(rows, key, **{x: v}) for v in xs]
    if any(m is None for m in measured) or any(not finite(r.get(key)) for r in rows if r[x] > 0):
        return NOT_TESTABLE, f"{label or key}: failed estimate (not a number)"
    s = slope(xs, measured)
    per = {"beta": "doubling of β", "width": "doubling of the units"}.get(x, "doubling of the share")
    text = f"{label or key}: slope {s.text(3) if s else 'n/a (fewer than 3 points)'} per {per}"
    return judged(f"{label or key}, slope per {per}", s, direction(s, sign)), text


def directed(name: str, d: Difference | None, sign: int, sesoi: float | None = None,
             late: float | None = None) -> tuple[str, str]:
    """The verdict on ``d`` having the sign ``sign``, judged (recorded as ``name``), and what to add to its text:
    with a smallest effect of interest ``sesoi``, an interval that excludes an effect that large in the claimed
    direction fails the claim (CLAIMS.md), and says so. ``late``: a smallest effect of interest stated after the runs
    ``d`` reads (:func:`sesoi_for`): what it would say is shown, not applied."""
    verdict, said = direction(d, sign), ""
    if sesoi is not None and d is not None:
        d = replace(d, sesoi_edge=sign * sesoi)  # more seeds may decide it by the SESOI too
    if sesoi is not None and verdict == INCONCLUSIVE and below_sesoi(d, sign, sesoi):
        verdict, said = FAILS, f" (no effect as large as the SESOI, {sesoi:g} point)"
    elif late is not None and verdict == INCONCLUSIVE and below_sesoi(d, sign, late):
        said = f" (the SESOI, {late:g} point, *stated after these runs*, would fail it: not applied)"
    return judged(name + said, d, verdict), said


def after_sesoi(report: Report, step: str) -> bool:
    """Whether step ``step`` finished after CLAIMS.md's smallest effect of interest was stated
    (:data:`SESOI_STATED_AFTER`), by its ledger entry."""
    finished = report.ledger.get(step, {}).get("finished")
    return report.done(step) and finished is not None and finished > SESOI_STATED_AFTER


def sesoi_for(report: Report, *steps: str) -> tuple[float | None, float | None]:
    """(the SESOI to apply, the SESOI to show only) for a comparison of the runs of ``steps`` (with the steps that
    add seeds to them): applied where all of them finished after it was stated, else shown."""
    every_step = [name for step in steps for name in (step, *report.extensions(step))]
    return (SESOI, None) if all(after_sesoi(report, name) for name in every_step if report.done(name)) else \
        (None, SESOI)


def later_rows(report: Report, step: str) -> list[dict]:
    """The results of step ``step`` and of the steps that add seeds to it that finished after the SESOI was stated:
    the runs it may judge."""
    return [r for name in (step, *report.extensions(step)) if after_sesoi(report, name)
            for r in report.own_results(name) or []]


def compare(where: str, d: Difference | None, sign: int, label: str = "", sesoi: float | None = None,
            late: float | None = None) -> tuple[str, str]:
    verdict, said = directed(" ".join(part for part in (label, where) if part), d, sign, sesoi, late)
    return verdict, f"{'n/a' if d is None else d.text()} {where}{said}"


def non_inferior(where: str, d: Difference | None, margin: float, label: str = "") -> tuple[str, str]:
    """A "comparable or better" comparison, as :func:`compare` for a direction: ``d`` (the claimed method's error
    minus the other's) judged against the non-inferiority ``margin`` (:func:`not_worse`)."""
    name = f"{label}, {where}" if label else where
    return judged(f"{name}, against a margin of +{margin:g}", d, not_worse(d, margin)), \
        f"{'n/a' if d is None else d.text()} {where}"


def combine(parts: Sequence[tuple[str, str]], joiner: str = "; ") -> tuple[str, str]:
    """Several comparisons: a failed estimate makes the whole not testable, else :func:`every`."""
    verdicts = [v for v, _ in parts]
    text = joiner.join(t for _, t in parts)
    return (NOT_TESTABLE if NOT_TESTABLE in verdicts else every(verdicts)), text


# --------------------------------------------------------------------------------------------- figure 1

def histogram(report: Report, step: str) -> dict:
    folder = report.folder(step) if step in report.steps else None
    if folder is None or not (folder / "histogram.json").exists():
        raise NotMeasured(f"step {step} has no histogram.json")
    return json.loads((folder / "histogram.json").read_text())


def _shape(summary: dict, *keys: str) -> None:
    if not all(k in summary for k in keys):
        raise NotMeasured("log z's shape statistics are not in histogram.json (written before they were)")


def measure_1a(report: Report) -> tuple[str, str]:
    summary = histogram(report, "figure1-relu")
    _shape(summary, "ks_uniform_central")
    ks = summary["ks_uniform_central"]
    verdict = HOLDS if ks <= FLAT else FAILS if ks >= BELL else INCONCLUSIVE
    return verdict, (f"KS distance of log z's central 90 % to a uniform on its 5–95 % range: {ks:.3f} (holds ≤ "
                     f"{FLAT}, fails ≥ {BELL}, an exact normal's); {100 * summary['zero_fraction']:.1f} % of the units "
                     "at 0, counted apart")


def measure_1b(report: Report) -> tuple[str, str]:
    summary = histogram(report, "figure1-softplus")
    _shape(summary, "ks_normal", "skew", "excess_kurtosis")
    ks, skew, kurtosis = summary["ks_normal"], summary["skew"], summary["excess_kurtosis"]
    if ks <= NORMAL_KS and abs(skew) <= NORMAL_SKEW and abs(kurtosis) <= NORMAL_KURTOSIS:
        verdict = HOLDS
    elif ks >= NOT_NORMAL_KS or abs(skew) >= NOT_NORMAL_SKEW or abs(kurtosis) >= NOT_NORMAL_KURTOSIS:
        verdict = FAILS
    else:
        verdict = INCONCLUSIVE
    return verdict, (f"log z against a normal: KS {ks:.3f}, skew {skew:+.2f}, excess kurtosis {kurtosis:+.2f} (holds "
                     f"within {NORMAL_KS} / ±{NORMAL_SKEW} / ±{NORMAL_KURTOSIS}; fails from {NOT_NORMAL_KS} / "
                     f"±{NOT_NORMAL_SKEW} / ±{NOT_NORMAL_KURTOSIS}, a uniform's distance from normal)"
                     + _noise_free_shape(summary))


def _noise_free_shape(summary: dict) -> str:
    """Whether log z's normal shape is the network's or the noise's (normal by construction): the same statistics
    on the noise-free log f(x), and the noise's share of log z's variance, where histogram.json has them."""
    if "f_ks_normal" not in summary or "noise_variance_share" not in summary:
        return ("; whether the shape is the network's or the noise's is not measured (histogram.json predates "
                "the noise-free statistics)")
    ks, skew, kurtosis = summary["f_ks_normal"], summary["f_skew"], summary["f_excess_kurtosis"]
    normal = ks <= NORMAL_KS and abs(skew) <= NORMAL_SKEW and abs(kurtosis) <= NORMAL_KURTOSIS
    return (f"; the noise-free log f(x): KS {ks:.3f}, skew {skew:+.2f}, excess kurtosis {kurtosis:+.2f}, "
            f"{'normal by the same bounds: the network' if normal else 'not normal by the same bounds: the noise'}"
            f"'s doing; the injected noise is {100 * summary['noise_variance_share']:.0f} % of log z's variance")


def sanity_1b_fit(report: Report) -> tuple[str, str]:
    summary = histogram(report, "figure1-softplus")
    if "prior_mean" not in summary:
        raise NotMeasured("no learned prior in histogram.json")
    mean, std, mu, sigma = (summary[k] for k in ("log_z_mean", "log_z_std", "prior_mean", "prior_std"))
    ok = abs(mean - mu) <= sigma / 2 and 0.5 <= std / sigma <= 2
    return (HOLDS if ok else FAILS), f"log z mean {mean:.2f} vs μ {mu:.2f}, std {std:.2f} vs σ {sigma:.2f}"


# --------------------------------------------------------------------------------------------- figure 2

def _cluttered_layers(rows: Sequence[dict]) -> list[str]:
    """Layers 2 and 3 of the dropout layers (the paper's upper layers of the first three)."""
    layers = sorted({key.split(".")[0] for r in rows for key in r if key.endswith(".mass_inside")})
    return layers[1:3]


def ends_of_grid(rows: Sequence[dict], key: str, sign: int, label: str) -> tuple[str, str]:
    """A trend over β judged as CLAIMS.md asks, not as a slope through the points: ``key`` at the grid's largest β
    minus at its smallest (β = 0 where the grid has it), paired by seed; ``sign`` +1 where the claim says it
    rises."""
    betas = sorted({r["beta"] for r in rows})
    if len(betas) < 2:
        raise NotMeasured("fewer than 2 values of β")
    low, high = betas[0], betas[-1]
    d = paired(seed_values(rows, key, beta=high), seed_values(rows, key, beta=low))
    where = f"{label} at β = {high:g} − at β = {low:g}"
    return judged(where, d, direction(d, sign)), f"{where}: {'n/a' if d is None else d.text(3)}"


def measure_2a(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure2-sweep")
    parts = []
    for layer in _cluttered_layers(rows):
        require(rows, f"{layer}.mass_inside")
        verdict, text = ends_of_grid(rows, f"{layer}.mass_inside", +1, f"{layer}: KL share in the digit's box")
        ink = measured_by(rows, f"{layer}.mass_inside_ink")
        parts.append((verdict, text + (f" (ink baseline {ink.text(3)})" if ink else " (no ink baseline recorded)")))
    if not parts:
        raise NotMeasured("no `<layer>.mass_inside` in the results")
    return combine(parts)


def measure_2d(report: Report) -> tuple[str, str]:
    """"As soon as the receptive field is big enough": the upper layers (2 and 3) drop the clutter more than the
    first as β grows. Per run, the KL share in the digit's box of the upper layers' mean minus the first layer's;
    that difference at the largest β minus at the smallest, paired by seed, rises."""
    layers = sorted({key.split(".")[0] for r in results_of(report, "figure2-sweep") for key in r
                     if key.endswith(".mass_inside")})
    if len(layers) < 3:
        raise NotMeasured("fewer than three dropout layers with `<layer>.mass_inside`")
    first, upper = layers[0], layers[1:3]
    rows = [{**r, "upper_minus_first": sum(r[f"{layer}.mass_inside"] for layer in upper) / len(upper)
             - r[f"{first}.mass_inside"]} for r in results_of(report, "figure2-sweep")]
    return ends_of_grid(rows, "upper_minus_first", +1,
                        f"KL share in the box, mean of {' and '.join(upper)} − {first}")


def measure_2b(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure2-sweep")
    betas = _positive_betas(rows)
    parts = []
    for layer in _cluttered_layers(rows):
        require(rows, f"{layer}.max_inside", f"{layer}.max_inside_ink")
        top = [r for r in rows if r["beta"] == betas[-1]]
        excess = over_seeds(r[f"{layer}.max_inside"] - r[f"{layer}.max_inside_ink"] for r in top)
        if excess is None:
            parts.append((NOT_TESTABLE, f"{layer}: failed estimate"))
            continue
        d = one_sample(excess)
        parts.append((judged(layer, d, direction(d, +1)),
                      f"{layer}: share of maps peaking in the box minus the ink's {d.text(3)}"))
    if not parts:
        raise NotMeasured("no `<layer>.max_inside` in the results")
    verdict, text = combine(parts)
    return verdict, f"at β = {betas[-1]}: {text}"


def measure_2c(report: Report) -> tuple[str, str]:
    """Better generalisation with β: the test error at the grid's best β > 0 against β = 0 (see
    :func:`against_beta_zero`)."""
    verdict, text = against_beta_zero(results_of(report, "figure2-sweep"), "error", "test error",
                                      later_rows(report, "figure2-sweep"))
    return verdict, f"{text}; {LENIENT}"


# ---------------------------------------------------------------------------------------- figures 4, 5

def first_step(report: Report, *names: str) -> str:
    """The first of ``names`` that the plan has (a data-limited overfitting setting before the larger runs)."""
    return next((name for name in names if name in report.steps), names[-1])


FIGURE4_OVERFIT = ("figure4-overfit", "figure4")
FIGURE5_OVERFIT = ("figure5-overfit", "figure5")


def measure_4a(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure4")
    verdict, text = trend(rows, "nuisance_error", +1, label="nuisance probe error")
    random = measured_by(rows, "nuisance_error_random")
    return verdict, text + f"; chance {pre.CHANCE_ERROR:.0f} %" + (f", a random network {random} %" if random else "")


def against_beta_zero(rows: Sequence[dict], key: str, label: str, later: Sequence[dict] = ()) -> tuple[str, str]:
    """"β helps", judged against β = 0: ``key`` at the β > 0 of the lowest mean against the β = 0 runs, paired by
    seed where both sides have the same seeds (Welch otherwise). Not testable where the sweep has no β = 0 run:
    a slope through the β > 0 points alone would not say whether β helps. The claims read this way (2c, 4b, 5b)
    have CLAIMS.md's smallest effect of interest (:data:`SESOI`), judged only on ``later``, the runs of ``rows`` that
    finished after it was stated: on all of them where all did; else the direction is read on every run (the SESOI
    shown, not applied), and the SESOI on ``later`` alone, at its own β > 0 of the lowest mean, where it has β = 0
    and seeds enough; a claim undecided on every run fails where those runs exclude an effect as large."""
    try:
        best, d = _best_against_zero(rows, key, label)
    except _NoComparison as missing:
        return NOT_TESTABLE, str(missing)
    every_run = len(later) == len(rows)
    verdict, said = directed(f"{label} at β = {best:g} − at β = 0", d, -1, *((SESOI, None) if every_run else
                                                                            (None, SESOI)))
    text = f"{label} at β = {best:g} (the lowest mean) − at β = 0: {d.text()} points{said}"
    if every_run or not later:
        return verdict, text
    try:
        added_best, added = _best_against_zero(later, key, label)
    except (_NoComparison, NotMeasured):
        added = None
    if added is None or added.seeds < 2:
        return verdict, text + "; too few runs after the SESOI was stated to judge it on them"
    on_added, added_said = directed(f"{label} at β = {added_best:g} − at β = 0, on the {added.seeds} seeds added "
                                    "after the SESOI was stated", added, -1, SESOI)
    if verdict == INCONCLUSIVE and on_added == FAILS:
        verdict = FAILS
    return verdict, (f"{text}; on the {added.seeds} seeds added after the SESOI was stated, at β = {added_best:g}: "
                     f"{added.text()} points{added_said}")


class _NoComparison(Exception):
    """No β = 0 run, or a failed estimate: the claim is not testable, as the message says."""


def _best_against_zero(rows: Sequence[dict], key: str, label: str) -> tuple[float, Difference]:
    """(the β > 0 of the lowest mean of ``key``, its difference from β = 0, paired by seed where the seeds agree)."""
    betas = sorted({r["beta"] for r in rows})
    if 0 not in betas:
        raise _NoComparison(f"{label}: no β = 0 run")
    others = [b for b in betas if b > 0]
    if not others:
        raise NotMeasured("no β > 0 run")
    means = {b: measured_by(rows, key, beta=b) for b in betas}
    if any(m is None for m in means.values()):
        raise _NoComparison(f"{label}: failed estimate (not a number)")
    best = min(others, key=lambda b: means[b].mean)
    at_best, at_zero = seed_values(rows, key, beta=best), seed_values(rows, key, beta=0)
    d = paired(at_best, at_zero) if set(at_best) == set(at_zero) and len(at_zero) > 1 else \
        welch(means[best], means[0])
    return best, d


LENIENT = "the β > 0 compared is the one of the lowest mean, chosen after seeing the data: a lenient reading"


def measure_4b(report: Report) -> tuple[str, str]:
    step = first_step(report, *FIGURE4_OVERFIT)
    rows, later = results_of(report, step), later_rows(report, step)
    verdict, text = combine([against_beta_zero(rows, "main_error_D", "main error D", later),
                             against_beta_zero(rows, "main_error_N", "main error N", later)])
    return verdict, f"{text}; {LENIENT}"


def measure_5b(report: Report) -> tuple[str, str]:
    step = first_step(report, *FIGURE5_OVERFIT)
    verdict, text = against_beta_zero(results_of(report, step), "error", "error", later_rows(report, step))
    return verdict, f"{text}; {LENIENT}"


def measure_5c(report: Report) -> tuple[str, str]:
    """The error at the largest β against the lowest mean error of every other β of the grid."""
    rows = results_of(report, "figure5")
    betas = sorted({r["beta"] for r in rows})
    if len(betas) < 2:
        raise NotMeasured("fewer than 2 values of β")
    means = {b: measured_by(rows, "error", beta=b) for b in betas}
    if any(m is None for m in means.values()):
        return NOT_TESTABLE, "error: failed estimate (not a number)"
    top = betas[-1]
    lowest = min(betas[:-1], key=lambda b: means[b].mean)
    d = welch(means[top], means[lowest])
    verdict = judged(f"error at β = {top:g} − at β = {lowest:g}", d, direction(d, +1))
    return verdict, (f"error at the largest β = {top:g} − at β = {lowest:g} (the lowest mean of the grid's other "
                     f"{len(betas) - 1} β): {d.text()} points")


# Said where figure 5's sweep predates the noise-free total correlation.
NOISE_NOT_SEPARATED = ("whether the fall is the network's or the noise's is not measured (the sweep predates the "
                       "noise-free total correlation)")


def measure_5a(report: Report) -> tuple[str, str]:
    """log z's total correlation against β and, where the sweep measured it, the noise-free log f(x)'s on the same
    runs (CLAIMS.md): the noise is independent across units by construction, so a fall of log z's alone may be the
    noise's; with f(x) the claim holds only where both fall."""
    rows = results_of(report, "figure5")
    on_z = trend(rows, "total_correlation", -1, label="total correlation per unit (nats)")
    if not any("total_correlation_f" in r for r in rows):
        unsettled("whether the fall is the network's or the noise's")
        return on_z[0], f"{on_z[1]}; {noted(NOISE_NOT_SEPARATED)}"
    on_f = trend(rows, "total_correlation_f", -1, label="noise-free log f(x), total correlation per unit (nats)")
    verdict, text = combine([on_z, on_f])
    share = _noise_shares(rows)
    return verdict, text + (f"; {noted(share)}" if share else "")


def _noise_shares(rows: Sequence[dict]) -> str:
    """How much of log z's variance is the injected noise, at the smallest and the largest β > 0."""
    xs = _positive_betas(rows)
    shares = [measured_by(rows, "noise_variance_share", beta=b) for b in (xs[0], xs[-1])]
    if None in shares:
        return ""
    return (f"the noise is {100 * shares[0].mean:.0f} % of log z's variance at β = {xs[0]:g} and "
            f"{100 * shares[1].mean:.0f} % at β = {xs[-1]:g}")
