"""What the claims on network size measure: figure 3a (error against the hidden units of a fully connected
network) and figures 3b and 6 (error and information against the share of All-CNN-32's filters). Each function
reads the report's results and returns its verdict and what it measured, as in
:mod:`infodropout.paper.report.measurements`, whose helpers it uses."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from infodropout.paper.report import preconditions as pre
from infodropout.paper.report.measurements import (
    NotMeasured, combine, compare, directed, measured_by, non_inferior, results_of, seed_values, sesoi_for, trend,
)
from infodropout.paper.report.recorded import formerly, judged, noted, recording, unsettled
from infodropout.paper.report.verdicts import (
    FAILS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, SESOI, Difference, finite, over_seeds, paired, slope, welch, within,
)

if TYPE_CHECKING:
    from infodropout.paper.report.page import Report

# The steps figure 3a's comparisons read: the paper's rate's runs and those at the rates chosen.
FC_STEPS = ("figure3a", "figure3a-lr")

PAPER_FC_RATE = 0.07  # the paper's learning rate for the fully connected network (SPEC §5), figure 3a's
FEWEST_FILTERS = 8  # figure 3b: a share leaving fewer filters in a layer is flagged (judged, and said so)
FIRST_BLOCK_FILTERS = 96  # All-CNN-32's first block (its second has 192)
SHARE_ELASTICITY = 0.5  # figure 6a: slope of log total KL against log share within ±0.5 ("does not vary much")
# Figure 3b's non-inferiority margin, in points of test error ("comparable or better"): a point, about the spread
# between the methods of the paper's figure 3b at its larger shares, stated before the runs.
CONV_MARGIN = 1.0


# -------------------------------------------------------------------------------------------- figure 3a

# Figure 3a's non-inferiority margin, in points of test error: "comparable or better" holds where Information
# Dropout's error exceeds the other method's by less than this with 95 % confidence. Half a point: the spread
# between the paper's methods at its largest widths (figure 3a), stated before the runs.
FC_MARGIN = 0.5


def rate_choice(report: Report) -> dict | None:
    """Figure 3a-lr's choice.json (the rates chosen on held-out training images, and how); None where the step has
    not run or left no choice."""
    folder = report.folder("figure3a-lr") if "figure3a-lr" in report.steps else None
    path = None if folder is None else folder / "choice.json"
    return json.loads(path.read_text()) if path is not None and path.exists() else None


def chosen_rates(report: Report) -> dict[tuple[str, int], tuple[float, dict[int, float], float]]:
    """Figure 3a-lr's choice: per (method, width), the learning rate chosen on held-out training images, the test
    error by seed at it (whole training set) and the worst dead-unit share among those runs; {} where the step
    has not run."""
    return rates_at_choice(rate_choice(report), report.results("figure3a-lr"))


def rates_at_choice(choice: dict | None, rows: list[dict] | None
                    ) -> dict[tuple[str, int], tuple[float, dict[int, float], float]]:
    """:func:`chosen_rates` from figure 3a-lr's choice.json and results as already read (a section that shows both
    reads each once). A choice.json of one method and width (``chosen`` a number) is read as that one cell."""
    if choice is None or rows is None:
        return {}
    cells = choice["chosen"] if isinstance(choice["chosen"], list) else \
        [{"dropout": choice["dropout"], "width": choice["width"], "learning_rate": choice["chosen"]}]
    out = {}
    for cell in cells:
        final = [r for r in rows if not r.get("validation") and r["learning_rate"] == cell["learning_rate"]
                 and r.get("dropout", choice.get("dropout")) == cell["dropout"]
                 and r.get("width", choice.get("width")) == cell["width"]]
        if final:
            out[cell["dropout"], cell["width"]] = (cell["learning_rate"], {r.get("seed", 0): r["error"] for r in final},
                                                   max(r.get("dead_fraction_max") or 0.0 for r in final))
    return out


@dataclass
class FcComparison:
    """Figure 3a's information against ``other``: the errors judged (per width, (information, other) by seed),
    at which rates (``at``), the same at the paper's rate at every width (``paper``), and what the precondition
    says (``notes``: failures at the paper's rate, widths left out)."""

    judged: dict[int, tuple[dict, dict]]
    at: str
    paper: dict[int, tuple[dict, dict]]
    notes: list[str]

    @property
    def at_chosen(self) -> bool:
        return self.at != PAPER_RATE_LABEL


PAPER_RATE_LABEL = f"the paper's learning rate {PAPER_FC_RATE}"


def fc_comparison(report: Report, other: str) -> FcComparison:
    """Information against ``other`` in figure 3a. Where neither has more than 10 % dead units in a layer at the
    paper's rate, at that rate. Otherwise (an optimisation failure) at each method's and width's learning rate
    chosen on held-out training images, where figure3a-lr chose one for both at every width (dead units there
    are reported, not a gate); without such a choice the widths with a failure are left out."""
    rows = results_of(report, "figure3a")
    paper, failures = {}, []
    for width in sorted({r["width"] for r in rows}):
        info, theirs = seed_values(rows, "error", dropout="information", width=width), \
            seed_values(rows, "error", dropout=other, width=width)
        if not info or not theirs:
            continue
        paper[width] = (info, theirs)
        for method in ("information", other):
            dead = max((r.get("dead_fraction_max") or 0.0 for r in rows if r["dropout"] == method
                        and r["width"] == width), default=0.0)
            if dead > pre.DEAD_LIMIT:
                failures.append((width, f"{method} {100 * dead:.0f} % dead at {width} units"))
    if not failures:
        return FcComparison(paper, PAPER_RATE_LABEL, paper, [])
    chosen = chosen_rates(report)
    if paper and all((m, w) in chosen for w in paper for m in ("information", other)):
        judged = {w: (chosen["information", w][1], chosen[other, w][1]) for w in paper}
        rates = ", ".join(f"{w} units {chosen['information', w][0]:g}/{chosen[other, w][0]:g}" for w in paper)
        dead = [f"{m} {100 * chosen[m, w][2]:.0f} % at {w} units" for w in paper for m in ("information", other)
                if chosen[m, w][2] > pre.DEAD_LIMIT]
        notes = [f"at the paper's rate: {'; '.join(text for _, text in failures)}; judged at the rates chosen on "
                 f"held-out training images (information/{other}: {rates})"
                 + (f"; dead units there (reported, not a gate): {', '.join(dead)}" if dead else "")]
        return FcComparison(judged, "the rates chosen on held-out training images", paper, notes)
    failed = {width for width, _ in failures}
    notes = [f"{text}: {width} units left out (no learning rate chosen for both methods there)"
             for width, text in failures]
    return FcComparison({w: e for w, e in paper.items() if w not in failed}, PAPER_RATE_LABEL, paper, notes)


def fc_judged_rows(report: Report, other: str) -> list[dict]:
    """The runs figure 3a's comparison of information with ``other`` reads: at the paper's rate (figure3a's runs of
    the two methods at the widths judged), or at the rates chosen (figure3a-lr's runs there)."""
    comparison = fc_comparison(report, other)
    methods = ("information", other)
    if not comparison.at_chosen:
        # Where every width is left out, the runs shown: whether they learned is still worth saying.
        widths = comparison.judged or comparison.paper
        return [r for r in results_of(report, "figure3a") if r["dropout"] in methods and r["width"] in widths]
    chosen = chosen_rates(report)
    return [r for r in results_of(report, "figure3a-lr") if not r.get("validation") and r.get("dropout") in methods
            and r.get("width") in comparison.judged and r["learning_rate"] == chosen[r["dropout"], r["width"]][0]]


def _information_minus(other: str, errors: dict, margin: float | None,
                       sesoi: tuple[float | None, float | None] = (SESOI, None)) -> tuple[str, str]:
    parts = []
    for width, (a, b) in sorted(errors.items()):
        d = welch(over_seeds(a.values()), over_seeds(b.values()))
        # "Lower" has CLAIMS.md's smallest effect of interest (3a3, 3a4), applied or, on runs it was stated after,
        # shown (sesoi_for); "comparable or better" its margin.
        parts.append(compare(f"at {width}", d, -1, sesoi=sesoi[0], late=sesoi[1]) if margin is None
                     else non_inferior(f"at {width}", d, margin))
    verdict, text = combine(parts, ", ")
    return verdict, f"information − {other} (points): {text}"


def against(other: str, margin: float | None = None) -> Callable[[Report], tuple[str, str]]:
    """Figure 3a: information against ``other``, width by width (see :func:`fc_comparison`); with ``margin``, a
    non-inferiority test (information's error above the other's by less than ``margin`` points), else "lower".
    Judged at the chosen rates, the paper's rate is shown beside; where no width is left, every width is shown."""
    def test(report: Report) -> tuple[str, str]:
        comparison = fc_comparison(report, other)
        if not comparison.paper:
            raise NotMeasured(f"no width with both information and {other}")
        sesoi = sesoi_for(report, *FC_STEPS)
        if not comparison.judged:
            _, text = _information_minus(other, comparison.paper, margin, sesoi)
            return NOT_TESTABLE, text + " (every width has an optimisation failure: shown, not judged)"
        verdict, text = _information_minus(other, comparison.judged, margin, sesoi)
        text = f"at {comparison.at}: {text}" + (f" (non-inferiority margin +{margin:g})" if margin else "")
        if comparison.at_chosen:
            with recording():  # shown, not judged
                _, shown = _information_minus(other, comparison.paper, margin, sesoi)
            text += f"; at {PAPER_RATE_LABEL} (shown, not judged): {shown}"
        return verdict, text
    return test


def mean_over_widths(errors: dict[int, tuple[dict, dict]]) -> Difference | None:
    """The mean over widths of each width's seed-mean difference (information − other): its variance the widths'
    Welch variances summed over W², its degrees of freedom by Welch–Satterthwaite over every side. None where a
    side has one seed."""
    sides = [(over_seeds(a.values()), over_seeds(b.values())) for a, b in errors.values()]
    if not sides or any(a is None or b is None or a.stderr is None or b.stderr is None for a, b in sides):
        return None
    count = len(sides)
    value = sum(a.mean - b.mean for a, b in sides) / count
    parts = [(m.stderr ** 2 / count ** 2, m.n - 1) for side in sides for m in side]
    variance = sum(v for v, _ in parts)
    denominator = sum(v * v / dof for v, dof in parts if v > 0)
    dof = float(variance ** 2 / denominator) if denominator else float("inf")
    seeds = min(m.n for side in sides for m in side)
    return Difference(value, variance ** 0.5, dof, "Welch", seeds, 2 * count)


def measure_3a3(report: Report) -> tuple[str, str]:
    """Figure 3a's caption: Information Dropout "outperforms" constant log-normal noise, read (revised after the
    runs, as CLAIMS.md marks it) on the mean over the figure's widths of each width's seed-mean difference; the
    former reading, better at every width, is judged too and shown beside it, not counted."""
    with recording():  # the former reading: shown, not the verdict
        former, every_width = against("lognormal")(report)
    comparison = fc_comparison(report, "lognormal")
    if not comparison.judged:
        return former, every_width
    d = mean_over_widths(comparison.judged)
    label = f"mean over {len(comparison.judged)} widths of information − lognormal"
    verdict, said = directed(label, d, -1, *sesoi_for(report, *FC_STEPS))
    noted("the mean over widths is a reading revised after the runs")
    formerly(f"the former reading, lower at every width: {former}")
    return verdict, (f"{label} (points, at {comparison.at}): {'n/a' if d is None else d.text()}{said} (*revised "
                     f"after the runs*: the caption's \"outperforms\" read on the mean over widths); the former reading, lower "
                     f"at every width, {former}: {every_width}")


def gap(information: dict[int, float], other: dict[int, float]) -> dict[int, float]:
    """Information's edge over ``other`` seed by seed (other's error − information's), over the seeds both have:
    "especially on smaller networks" compares it between the two ends of the sizes (3a2, 3b)."""
    return {seed: other[seed] - information[seed] for seed in set(information) & set(other)}


def measure_3a2(report: Report) -> tuple[str, str]:
    comparison = fc_comparison(report, "binary")
    if len(comparison.paper) < 2:
        raise NotMeasured("fewer than two widths")
    small, large = min(comparison.paper), max(comparison.paper)
    judged_ends = small in comparison.judged and large in comparison.judged
    source = comparison.judged if judged_ends else comparison.paper
    verdict, text = compare("", paired(gap(*source[small]), gap(*source[large])), +1,
                            label=f"gap at {small} − at {large} units")
    text = f"at {comparison.at}: (binary − information) at {small} units minus at {large}: {text.strip()}"
    return (verdict, text) if judged_ends else (NOT_TESTABLE, text + " (an optimisation failure at either end: "
                                                                    "shown, not judged)")


def measure_3a5(report: Report) -> tuple[str, str]:
    """Figure 3a's caption: Information Dropout adapts the noise to the network's size. Each layer's mean α at
    the paper's rate against the width (slope per doubling of the units): smaller networks, less noise, so the
    slope is positive."""
    rows = [r for r in results_of(report, "figure3a") if r["dropout"] == "information"]
    layers = sorted({key.rsplit(".", 1)[0] for r in rows for key in r if key.endswith(".alpha_mean")})
    if not layers:
        raise NotMeasured("figure 3a's results have no `<layer>.alpha_mean` (run before α was recorded: "
                          "step figure3a must run again)")
    return combine([trend(rows, f"{layer}.alpha_mean", +1, x="width", label=f"{layer} mean α")
                    for layer in layers])


# ------------------------------------------------------------------------------------------ figures 3b, 6

def share_runs(rows: Sequence[dict], share: float, other: str = "binary") -> list[dict]:
    """The runs figure 3b compares at ``share``: information and ``other``."""
    return [r for r in rows if r["filter_percentage"] == share and r.get("dropout") in ("information", other)]


def shares_learned(report: Report, other: str = "binary") -> dict[float, pre.Condition]:
    """Figure 3b's *learned* precondition share by share, on the runs compared there (information and ``other``)."""
    rows = results_of(report, "figure3b-6")
    if not any(r.get("dropout") == other for r in rows):
        raise NotMeasured(f"figure 3b has no {other} run")
    return {share: pre.learned(share_runs(rows, share, other))
            for share in sorted({r["filter_percentage"] for r in rows})}


def _not_worse_by_share(report: Report, other: str) -> tuple[list, list[float], dict]:
    """Information against ``other`` at each share whose compared runs learned: non-inferiority within
    :data:`CONV_MARGIN` (a share with fewer than :data:`FEWEST_FILTERS` filters a layer judged and flagged)."""
    rows = results_of(report, "figure3b-6")
    learned = shares_learned(report, other)
    judged_shares = [share for share, condition in learned.items() if condition.met]
    parts = []
    for share in judged_shares:
        a, b = measured_by(rows, "error", dropout="information", filter_percentage=share), \
            measured_by(rows, "error", dropout=other, filter_percentage=share)
        flag = f" (flagged: {few_filters(share)} filters in the first block)" if few_filters(share) else ""
        if a and b:
            parts.append(non_inferior(f"at share {share:g}{flag}", welch(a, b), CONV_MARGIN, label=other))
    return parts, judged_shares, learned


def measure_3b2(report: Report) -> tuple[str, str]:
    """Figure 3b against the other methods: information is comparable or better than constant log-normal noise and
    than no dropout, share by share (non-inferiority within :data:`CONV_MARGIN` points). Against no dropout a
    share is judged only where the no-dropout runs overfit (a regulariser can only beat none where there is
    overfitting to prevent, CLAIMS.md); a share left out makes a claim that would hold inconclusive."""
    rows = results_of(report, "figure3b-6")
    parts, gated = [], []
    for other in ("lognormal", "none"):
        found, _, learned = _not_worse_by_share(report, other)
        if other == "none":
            gaps = {share: pre.overfits([{**r, "beta": 0} for r in rows if r.get("dropout") == "none"
                                         and r["filter_percentage"] == share]) for share in learned}
            gated = [f"share {share:g} left out against none (no dropout does not overfit there: "
                     f"{c.reason.replace('β = 0 ', 'its ')})"
                     for share, c in gaps.items() if learned[share].met and not c.met]
            found = [part for part, share in zip(found, [s for s, c in learned.items() if c.met]) if gaps[share].met]
        if not found:
            raise NotMeasured(f"no share where information and {other} both learned"
                              + (" and no dropout overfits" if other == "none" else ""))
        verdict, text = combine(found, ", ")
        left_out = [f"share {share:g} left out ({other}'s or information's runs did not learn)"
                    for share, c in learned.items() if not c.met] + (gated if other == "none" else [])
        parts.append((verdict, f"information − {other} (points): {text}" + ("; " + "; ".join(left_out)
                                                                               if left_out else "")))
    overfitting = _against_none_overfitting(report)
    if overfitting is not None:
        parts.append(overfitting)
    verdict, text = combine(parts)
    if gated:
        verdict = INCONCLUSIVE if verdict == HOLDS else verdict
        noted(f"{len(gated)} share(s) left out against none, where no dropout does not overfit")
    if parts[1][0] == FAILS and overfitting is None:
        # No dropout overfits at these shares, but by little: whether Information Dropout still trails it where
        # there is more overfitting to prevent is what the claim's "regulariser" reading asks.
        gap = max(r["error"] - r["train_error"] for r in rows if r.get("dropout") == "none")
        unsettled(f"whether it trails no dropout where no dropout overfits by more than the {gap:.1f} points here")
    return verdict, f"{text} (non-inferiority margin +{CONV_MARGIN:g})"


# Figure 3b's comparison with no dropout where no dropout overfits most: figure 5's data-limited setting, its
# Information Dropout runs at figure 3b's β scaled to the setting's images (the paper's CIFAR β × images/50,000).
NONE_OVERFITTING = ("figure5-overfit-none", "figure5-overfit")


def _against_none_overfitting(report: Report) -> tuple[str, str] | None:
    """Information against no dropout in figure 5's overfitting setting, where its no-dropout runs exist: judged
    (non-inferiority within :data:`CONV_MARGIN`, Welch) where both learned and no dropout overfits, else said why
    not; None where the plan has no such runs or they have not run."""
    from infodropout.paper.protocols import CIFAR, per_image_beta

    none_step, info_step = NONE_OVERFITTING
    if none_step not in report.steps or not report.done(none_step):
        return None
    none = [{**r, "dropout": "none"} for r in results_of(report, none_step)]
    images = int(report.steps[info_step].config["num_train"])
    beta = per_image_beta(CIFAR["beta"], images)
    info = [r for r in results_of(report, info_step) if r["beta"] == beta]
    where = f"in figure 5's overfitting setting ({images:,} images; information at β = {beta:g})"
    learned, overfit = pre.learned(info + none), pre.overfits(none)
    if not learned.met or not overfit.met:
        missed = learned if not learned.met else overfit
        return INCONCLUSIVE, f"information − none (points) {where}: left out ({missed.text()})"
    d = welch(measured_by(info, "error"), measured_by(none, "error"))
    verdict, said = non_inferior(where, d, CONV_MARGIN, label="none")
    return verdict, (f"information − none (points) {where}, where no dropout overfits ({overfit.reason}): "
                     f"{said.strip()}")


def few_filters(share: float) -> int | None:
    """The first block's filters at ``share`` where fewer than :data:`FEWEST_FILTERS` (flagged), else None."""
    filters = int(FIRST_BLOCK_FILTERS * share)
    return filters if filters < FEWEST_FILTERS else None


def measure_3b(report: Report) -> tuple[str, str]:
    """Information against binary at every share whose compared runs learned, within :data:`CONV_MARGIN` (a share
    with fewer than :data:`FEWEST_FILTERS` filters a layer judged and flagged), and "especially with fewer filters": the gap
    (binary − information) at the smallest such share against the largest, paired by seed."""
    rows = results_of(report, "figure3b-6")
    parts, judged_shares, learned = _not_worse_by_share(report, "binary")
    if not parts:
        raise NotMeasured("no share where both methods learned")
    verdict, text = combine(parts, ", ")
    text = f"information − binary (points, non-inferiority margin +{CONV_MARGIN:g}): {text}"
    if len(judged_shares) >= 2:
        small, large = judged_shares[0], judged_shares[-1]
        gaps = [gap(*(seed_values(rows, "error", dropout=method, filter_percentage=share)
                      for method in ("information", "binary"))) for share in (small, large)]
        fewer = compare("", paired(*gaps), +1, label=f"gap at share {small:g} − at {large:g}")
        verdict = combine([(verdict, ""), fewer])[0]
        text += f"; fewer filters: (binary − information) at share {small:g} minus at {large:g}: {fewer[1].strip()}"
    else:
        verdict = combine([(verdict, ""), (INCONCLUSIVE, "")])[0]
        text += "; fewer filters: one share left, not judged"
    left_out = [f"share {share:g} left out (its runs did not learn)" for share, c in learned.items() if not c.met]
    return verdict, text + ("; " + "; ".join(left_out) if left_out else "")


def _info_layers(rows: Sequence[dict]) -> tuple[list[dict], list[str]]:
    info = [r for r in rows if r.get("dropout", "information") == "information"]
    return info, sorted({key.rsplit(".", 1)[0] for r in info for key in r if key.endswith(".total")})


def measure_6a1(report: Report) -> tuple[str, str]:
    info, layers = _info_layers(results_of(report, "figure3b-6"))
    if not layers:
        raise NotMeasured("no `<layer>.total` in the results")
    logged = [{**r, **{f"{layer}.log2_total": math.log2(r[f"{layer}.total"]) for layer in layers
                       if finite(r.get(f"{layer}.total")) and r[f"{layer}.total"] > 0}} for r in info]
    parts = []
    for layer in layers:
        xs = sorted({r["filter_percentage"] for r in logged})
        s = slope(xs, [measured_by(logged, f"{layer}.log2_total", filter_percentage=x) for x in xs])
        parts.append((judged(f"{layer}, against ±{SHARE_ELASTICITY}", s, within(s, SHARE_ELASTICITY)),
                      f"{layer}: slope of log₂ total KL per doubling of the share {s.text(3) if s else 'n/a'}"))
    verdict, text = combine(parts)
    noted(f"the tolerance ±{SHARE_ELASTICITY} was set after the first runs (the paper gives no number)")
    return verdict, text + (f" (0: constant, 1: in proportion to the filters; tolerance ±{SHARE_ELASTICITY}, "
                            "*revised after the runs*: set on 2026-11-29 after the first runs, the paper giving no "
                            "number)")


def layer_pairs(measure: str, sign: int, same_as: str = "") -> Callable[[Report], tuple[str, str]]:
    """Layer 2 − layer 1 of ``measure`` at each share, paired by run (both layers of one run: one run a seed);
    ``same_as`` says which claim reads the same numbers, where one does."""
    def test(report: Report) -> tuple[str, str]:
        info, layers = _info_layers(results_of(report, "figure3b-6"))
        if len(layers) < 2:
            raise NotMeasured("fewer than two dropout layers in the results")
        first, second = layers[0], layers[1]
        shares = sorted({r["filter_percentage"] for r in info})
        parts = []
        for s in shares:
            d = paired(seed_values(info, f"{second}.{measure}", filter_percentage=s),
                       seed_values(info, f"{first}.{measure}", filter_percentage=s))
            parts.append(compare(f"at share {s:g}", None if d is None else replace(d, groups=1), sign))
        verdict, text = combine(parts, ", ")
        return verdict, f"{second} − {first} (nats): {text}" + (f"; {noted(same_as)}" if same_as else "")
    return test


def measure_6b1(report: Report) -> tuple[str, str]:
    info, layers = _info_layers(results_of(report, "figure3b-6"))
    if not layers:
        raise NotMeasured("no `<layer>.per_unit` in the results")
    verdict, text = combine([trend(info, f"{layer}.per_unit", -1, x="filter_percentage", label=f"{layer} KL per unit")
                             for layer in layers])
    return verdict, f"{text}; {noted(SAME_AS_6A1)}"


# CLAIMS.md: two claims that read the same numbers are not two findings; the report says so beside their verdicts.
SAME_AS_6A1 = ("reads the same numbers as 6a1 (per unit = total / units): with 6a1's slope below 1 it follows, not a "
               "separate finding")
SAME_AS_6A2 = ("reads 6a2's totals over the unit counts (layer 2's total above units₂/units₁ × layer 1's): not a "
               "separate finding")
