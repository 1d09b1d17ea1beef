"""What the claims on network size measure: figure 3a (error against the hidden units of a fully connected
network) and figures 3b and 6 (error and information against the share of All-CNN-32's filters). Each function
reads the report's results and returns its verdict and what it measured, as in
:mod:`infodropout.paper.report.measurements`, whose helpers it uses."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from infodropout.paper.report import preconditions as pre
from infodropout.paper.report.measurements import (
    NotMeasured, combine, compare, judged, measured_by, results_of, seed_values, trend,
)
from infodropout.paper.report.verdicts import INCONCLUSIVE, NOT_TESTABLE, finite, over_seeds, paired, slope, welch, within

if TYPE_CHECKING:
    from infodropout.paper.report.page import Report

PAPER_FC_RATE = 0.07  # the paper's learning rate for the fully connected network (SPEC §5), figure 3a's
FEWEST_FILTERS = 8  # figure 3b: a share leaving fewer filters in a layer is flagged (judged, and said so)
FIRST_BLOCK_FILTERS = 96  # All-CNN-32's first block (its second has 192)
SHARE_ELASTICITY = 0.5  # figure 6a: slope of log total KL against log share within ±0.5 ("does not vary much")


# -------------------------------------------------------------------------------------------- figure 3a

def _chosen_rate(report: Report) -> tuple[dict, list[dict]] | None:
    """Figure 3a-lr's choice and its final runs (at the chosen rate, on the whole training set), if any."""
    if "figure3a-lr" not in report.steps or report.folder("figure3a-lr") is None:
        return None
    path = report.folder("figure3a-lr") / "choice.json"
    rows = report.results("figure3a-lr")
    if not path.exists() or rows is None:
        return None
    choice = json.loads(path.read_text())
    final = [r for r in rows if not r.get("validation") and r["learning_rate"] == choice["chosen"]]
    return choice, final


def fc_errors(report: Report, other: str) -> tuple[list[int], dict, dict, list[str]]:
    """Figure 3a's widths usable for information vs ``other``: a width where either has more than 10 % dead
    units is compared at ``other``'s learning rate chosen on held-out training images where figure3a-lr chose
    one there, else left out. Returns the usable widths, per usable width the (information, other) errors by
    seed, the same at every width at the paper's rate, and notes on what was replaced or left out."""
    rows = results_of(report, "figure3a")
    chosen = _chosen_rate(report)
    used, errors, every_width, notes = [], {}, {}, []
    for width in sorted({r["width"] for r in rows}):
        info, theirs = seed_values(rows, "error", dropout="information", width=width), \
            seed_values(rows, "error", dropout=other, width=width)
        if not info or not theirs:
            continue
        every_width[width] = (info, theirs)
        dead = {m: max((r.get("dead_fraction_max") or 0.0 for r in rows if r["dropout"] == m and r["width"] == width),
                       default=0.0) for m in ("information", other)}
        if dead["information"] > pre.DEAD_LIMIT:
            notes.append(f"{width} units left out (information {100 * dead['information']:.0f} % dead)")
            continue
        if dead[other] > pre.DEAD_LIMIT:
            if chosen and chosen[0]["dropout"] == other and chosen[0]["width"] == width and chosen[1] \
                    and chosen[0]["chosen"] != PAPER_FC_RATE \
                    and max(r["dead_fraction_max"] for r in chosen[1]) <= pre.DEAD_LIMIT:
                theirs = {r.get("seed", 0): r["error"] for r in chosen[1]}
                notes.append(f"at {width} units {other} ({100 * dead[other]:.0f} % dead at the paper's rate) is "
                             f"compared at its rate chosen on held-out training images, {chosen[0]['chosen']}")
            else:
                notes.append(f"{width} units left out ({other} {100 * dead[other]:.0f} % dead)")
                continue
        used.append(width)
        errors[width] = (info, theirs)
    return used, errors, every_width, notes


def _information_minus(other: str, errors: dict) -> tuple[str, str]:
    parts = [compare(f"at {w}", welch(over_seeds(a.values()), over_seeds(b.values())), -1)
             for w, (a, b) in sorted(errors.items())]
    verdict, text = combine(parts, ", ")
    return verdict, f"information − {other} (points): {text}"


def against(other: str) -> Callable[[Report], tuple[str, str]]:
    """Figure 3a: information against ``other``, width by width, at the widths without an optimisation failure
    (what is left out or replaced is said by the precondition); where none is left, every width is shown."""
    def test(report: Report) -> tuple[str, str]:
        widths, errors, every_width, _ = fc_errors(report, other)
        if not every_width:
            raise NotMeasured(f"no width with both information and {other}")
        if not widths:
            _, text = _information_minus(other, every_width)
            return NOT_TESTABLE, text + " (every width has an optimisation failure: shown, not judged)"
        return _information_minus(other, errors)
    return test


def measure_3a2(report: Report) -> tuple[str, str]:
    widths, errors, every_width, _ = fc_errors(report, "binary")
    if len(every_width) < 2:
        raise NotMeasured("fewer than two widths")
    small, large = min(every_width), max(every_width)
    judged = small in widths and large in widths
    source = errors if judged else every_width
    gap = {w: {s: source[w][1][s] - source[w][0][s] for s in set(source[w][0]) & set(source[w][1])}
           for w in (small, large)}
    verdict, text = compare("", paired(gap[small], gap[large]), +1, label=f"gap at {small} − at {large} units")
    text = f"(binary − information) at {small} units minus at {large}: {text.strip()}"
    return (verdict, text) if judged else (NOT_TESTABLE, text + " (an optimisation failure at either end: shown, "
                                                               "not judged)")


# ------------------------------------------------------------------------------------------ figures 3b, 6

def share_runs(rows: Sequence[dict], share: float) -> list[dict]:
    """The runs figure 3b compares at ``share``: information and binary dropout."""
    return [r for r in rows if r["filter_percentage"] == share and r.get("dropout") in ("information", "binary")]


def shares_learned(report: Report) -> dict[float, pre.Condition]:
    """Figure 3b's *learned* precondition share by share, on the runs compared there (information and binary)."""
    rows = results_of(report, "figure3b-6")
    return {share: pre.learned(share_runs(rows, share)) for share in sorted({r["filter_percentage"] for r in rows})}


def few_filters(share: float) -> int | None:
    """The first block's filters at ``share`` where fewer than :data:`FEWEST_FILTERS` (flagged), else None."""
    filters = int(FIRST_BLOCK_FILTERS * share)
    return filters if filters < FEWEST_FILTERS else None


def measure_3b(report: Report) -> tuple[str, str]:
    """Information against binary at every share whose compared runs learned (a share with fewer than
    :data:`FEWEST_FILTERS` filters a layer judged and flagged), and "especially with fewer filters": the gap
    (binary − information) at the smallest such share against the largest, paired by seed."""
    rows = results_of(report, "figure3b-6")
    learned = shares_learned(report)
    judged_shares = [share for share, condition in learned.items() if condition.met]
    parts = []
    for share in judged_shares:
        a, b = measured_by(rows, "error", dropout="information", filter_percentage=share), \
            measured_by(rows, "error", dropout="binary", filter_percentage=share)
        flag = f" (flagged: {few_filters(share)} filters in the first block)" if few_filters(share) else ""
        if a and b:
            parts.append(compare(f"at share {share:g}{flag}", welch(a, b), -1))
    if not parts:
        raise NotMeasured("no share where both methods learned")
    verdict, text = combine(parts, ", ")
    text = f"information − binary (points): {text}"
    if len(judged_shares) >= 2:
        small, large = judged_shares[0], judged_shares[-1]
        gap = {}
        for share in (small, large):
            info = seed_values(rows, "error", dropout="information", filter_percentage=share)
            binary = seed_values(rows, "error", dropout="binary", filter_percentage=share)
            gap[share] = {seed: binary[seed] - info[seed] for seed in set(info) & set(binary)}
        fewer = compare("", paired(gap[small], gap[large]), +1, label=f"gap at share {small:g} − at {large:g}")
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
    return verdict, text + f" (0: constant, 1: in proportion to the filters; tolerance ±{SHARE_ELASTICITY})"


def layer_pairs(measure: str, sign: int) -> Callable[[Report], tuple[str, str]]:
    def test(report: Report) -> tuple[str, str]:
        info, layers = _info_layers(results_of(report, "figure3b-6"))
        if len(layers) < 2:
            raise NotMeasured("fewer than two dropout layers in the results")
        first, second = layers[0], layers[1]
        shares = sorted({r["filter_percentage"] for r in info})
        parts = [compare(f"at share {s:g}", paired(seed_values(info, f"{second}.{measure}", filter_percentage=s),
                                                    seed_values(info, f"{first}.{measure}", filter_percentage=s)), sign)
                 for s in shares]
        verdict, text = combine(parts, ", ")
        return verdict, f"{second} − {first} (nats): {text}"
    return test


def measure_6b1(report: Report) -> tuple[str, str]:
    info, layers = _info_layers(results_of(report, "figure3b-6"))
    if not layers:
        raise NotMeasured("no `<layer>.per_unit` in the results")
    return combine([trend(info, f"{layer}.per_unit", -1, x="filter_percentage", label=f"{layer} KL per unit")
                     for layer in layers])
