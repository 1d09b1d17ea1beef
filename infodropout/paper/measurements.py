"""What each claim of the paper measures on a reproduction's runs: one function per claim, reading the report's
results and returning its verdict and what it measured (:mod:`infodropout.paper.claims` holds the records that
name them). A function raises :class:`NotMeasured` where the results lack what it reads."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from infodropout.paper import preconditions as pre
from infodropout.paper.verdicts import (
    FAILS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, Difference, Measured, direction, estimate, every, finite, one_sample,
    over_seeds, paired, slope, welch, within,
)

if TYPE_CHECKING:
    from infodropout.paper.page import Report

# Table I of the paper (SPEC §7): test lower bound in nats per image.
PAPER_TABLE1 = {"gaussian": {1: -98.8, 2: -99.0, 3: -98.7}, "information": {1: -100.0, 2: -99.1, 3: -99.1}}
T1_TOLERANCE = 1.5  # nats: "the Information latent's bound ≈ the Gaussian's"
MNIST_TRAIN_DIGITS = 60_000
PAPER_FC_RATE = 0.07  # the paper's learning rate for the fully connected network (SPEC §5), figure 3a's
FEWEST_FILTERS = 8  # figure 3b: a share leaving fewer filters in a layer is flagged and left out
FIRST_BLOCK_FILTERS = 96  # All-CNN-32's first block (its second has 192)
# Figure 1: KS distance of log z's central 90 % to a uniform: a flat density reads 0; an exact normal reads
# infodropout.analysis.KS_NORMAL_TO_UNIFORM_CENTRAL (0.078). The claim holds up to FLAT, fails from BELL.
FLAT, BELL = 0.05, 0.0776
# Figure 1 Softplus: log z against a normal. Holds where all three are within the first bounds; fails where any
# reaches the second: a shape as far from normal as a uniform is (KS 0.058, excess kurtosis −1.2), or |skew| ≥ 1.
NORMAL_KS, NORMAL_SKEW, NORMAL_KURTOSIS = 0.03, 0.5, 1.0
NOT_NORMAL_KS, NOT_NORMAL_SKEW, NOT_NORMAL_KURTOSIS = 0.05, 1.0, 1.2
SHARE_ELASTICITY = 0.5  # figure 6a: slope of log total KL against log share within ±0.5 ("does not vary much")


class NotMeasured(Exception):
    """The results lack what a claim's measurement reads (a plan run before it was recorded)."""


# ------------------------------------------------------------------------------------------- reading results

def results_of(report: Report, step: str) -> list[dict]:
    rows = report.results(step) if step in report.steps else None
    if rows is None:
        raise NotMeasured(f"step {step} has no results")
    return rows


def _by(rows: Sequence[dict], key: str, **where) -> Measured | None:
    return over_seeds(r.get(key) for r in rows if all(r.get(k) == v for k, v in where.items()))


def _seeds(rows: Sequence[dict], key: str, **where) -> dict[int, float]:
    return {r.get("seed", 0): r[key] for r in rows
            if all(r.get(k) == v for k, v in where.items()) and r.get(key) is not None}


def _require(rows: Sequence[dict], *keys: str) -> None:
    for key in keys:
        if not any(key in r for r in rows):
            raise NotMeasured(f"no `{key}` in the results")


def _positive_betas(rows: Sequence[dict]) -> list[float]:
    return sorted({r["beta"] for r in rows if r["beta"] > 0})


def _trend(rows: Sequence[dict], key: str, sign: int, x: str = "beta", label: str = "") -> tuple[str, str]:
    """The slope of ``key`` over log₂ ``x`` (x > 0), every seed's point."""
    _require(rows, key)
    xs = sorted({r[x] for r in rows if r[x] > 0})
    measured = [_by(rows, key, **{x: v}) for v in xs]
    if any(m is None for m in measured) or any(not finite(r.get(key)) for r in rows if r[x] > 0):
        return NOT_TESTABLE, f"{label or key}: failed estimate (not a number)"
    s = slope(xs, measured)
    per = "doubling of β" if x == "beta" else "doubling of the share"
    text = f"{label or key}: slope {s.text(3) if s else 'n/a (fewer than 3 points)'} per {per}"
    return direction(s, sign), text


def _compare(where: str, d: Difference | None, sign: int) -> tuple[str, str]:
    return direction(d, sign), f"{'n/a' if d is None else d.text()} {where}"


def _combine(parts: Sequence[tuple[str, str]], joiner: str = "; ") -> tuple[str, str]:
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
                     f"±{NOT_NORMAL_SKEW} / ±{NOT_NORMAL_KURTOSIS}, a uniform's distance from normal)")


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


def measure_2a(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure2-sweep")
    parts = []
    for layer in _cluttered_layers(rows):
        verdict, text = _trend(rows, f"{layer}.mass_inside", +1, label=f"{layer}: KL share in the digit's box")
        ink = _by(rows, f"{layer}.mass_inside_ink")
        parts.append((verdict, text + (f" (ink baseline {ink.text(3)})" if ink else " (no ink baseline recorded)")))
    if not parts:
        raise NotMeasured("no `<layer>.mass_inside` in the results")
    return _combine(parts)


def measure_2b(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure2-sweep")
    betas = _positive_betas(rows)
    parts = []
    for layer in _cluttered_layers(rows):
        _require(rows, f"{layer}.max_inside", f"{layer}.max_inside_ink")
        top = [r for r in rows if r["beta"] == betas[-1]]
        excess = over_seeds(r[f"{layer}.max_inside"] - r[f"{layer}.max_inside_ink"] for r in top)
        if excess is None:
            parts.append((NOT_TESTABLE, f"{layer}: failed estimate"))
            continue
        d = one_sample(excess)
        parts.append((direction(d, +1), f"{layer}: share of maps peaking in the box minus the ink's {d.text(3)}"))
    if not parts:
        raise NotMeasured("no `<layer>.max_inside` in the results")
    verdict, text = _combine(parts)
    return verdict, f"at β = {betas[-1]}: {text}"


def measure_2c(report: Report) -> tuple[str, str]:
    return _trend(results_of(report, "figure2-sweep"), "error", -1, label="test error")


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
        info, theirs = _seeds(rows, "error", dropout="information", width=width), \
            _seeds(rows, "error", dropout=other, width=width)
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
    parts = [_compare(f"at {w}", welch(over_seeds(a.values()), over_seeds(b.values())), -1)
             for w, (a, b) in sorted(errors.items())]
    verdict, text = _combine(parts, ", ")
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
    verdict, text = _compare("", paired(gap[small], gap[large]), +1)
    text = f"(binary − information) at {small} units minus at {large}: {text.strip()}"
    return (verdict, text) if judged else (NOT_TESTABLE, text + " (an optimisation failure at either end: shown, "
                                                               "not judged)")


# ------------------------------------------------------------------------------------------ figures 3b, 6

def measure_3b(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure3b-6")
    shares = sorted({r["filter_percentage"] for r in rows})
    parts, flagged = [], []
    for share in shares:
        if int(FIRST_BLOCK_FILTERS * share) < FEWEST_FILTERS:
            flagged.append(f"share {share:g} ({int(FIRST_BLOCK_FILTERS * share)} filters in the first block) left out")
            continue
        a, b = _by(rows, "error", dropout="information", filter_percentage=share), \
            _by(rows, "error", dropout="binary", filter_percentage=share)
        if a and b:
            parts.append(_compare(f"at share {share:g}", welch(a, b), -1))
    if not parts:
        raise NotMeasured("no share with both methods and at least 8 filters a layer")
    verdict, text = _combine(parts, ", ")
    return verdict, f"information − binary (points): {text}" + ("; " + "; ".join(flagged) if flagged else "")


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
        s = slope(xs, [_by(logged, f"{layer}.log2_total", filter_percentage=x) for x in xs])
        parts.append((within(s, SHARE_ELASTICITY),
                      f"{layer}: slope of log₂ total KL per doubling of the share {s.text(3) if s else 'n/a'}"))
    verdict, text = _combine(parts)
    return verdict, text + f" (0: constant, 1: in proportion to the filters; tolerance ±{SHARE_ELASTICITY})"


def layer_pairs(measure: str, sign: int) -> Callable[[Report], tuple[str, str]]:
    def test(report: Report) -> tuple[str, str]:
        info, layers = _info_layers(results_of(report, "figure3b-6"))
        if len(layers) < 2:
            raise NotMeasured("fewer than two dropout layers in the results")
        first, second = layers[0], layers[1]
        shares = sorted({r["filter_percentage"] for r in info})
        parts = [_compare(f"at share {s:g}", paired(_seeds(info, f"{second}.{measure}", filter_percentage=s),
                                                    _seeds(info, f"{first}.{measure}", filter_percentage=s)), sign)
                 for s in shares]
        verdict, text = _combine(parts, ", ")
        return verdict, f"{second} − {first} (nats): {text}"
    return test


def measure_6b1(report: Report) -> tuple[str, str]:
    info, layers = _info_layers(results_of(report, "figure3b-6"))
    if not layers:
        raise NotMeasured("no `<layer>.per_unit` in the results")
    return _combine([_trend(info, f"{layer}.per_unit", -1, x="filter_percentage", label=f"{layer} KL per unit")
                     for layer in layers])


# ---------------------------------------------------------------------------------------- figures 4, 5

def first_step(report: Report, *names: str) -> str:
    """The first of ``names`` that the plan has (a data-limited overfitting setting before the larger runs)."""
    return next((name for name in names if name in report.steps), names[-1])


FIGURE4_OVERFIT = ("figure4-overfit", "figure4")
FIGURE5_OVERFIT = ("figure5-overfit", "figure5")


def measure_4a(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure4")
    verdict, text = _trend(rows, "nuisance_error", +1, label="nuisance probe error")
    random = _by(rows, "nuisance_error_random")
    return verdict, text + f"; chance {pre.CHANCE_ERROR:.0f} %" + (f", a random network {random} %" if random else "")


def measure_4b(report: Report) -> tuple[str, str]:
    rows = results_of(report, first_step(report, *FIGURE4_OVERFIT))
    return _combine([_trend(rows, "main_error_D", -1, label="main error D"),
                     _trend(rows, "main_error_N", -1, label="main error N")])


def _baseline_and_best(rows: Sequence[dict]) -> tuple[float, float, float]:
    """β = 0 (else the smallest β), the β of the lowest mean error among the others, and the largest β."""
    betas = sorted({r["beta"] for r in rows})
    if len(betas) < 3:
        raise NotMeasured("fewer than 3 values of β")
    means = {b: _by(rows, "error", beta=b) for b in betas}
    if any(m is None for m in means.values()):
        raise NotMeasured("an error is not a number")
    best = min(betas[1:], key=lambda b: means[b].mean)
    return betas[0], best, betas[-1]


def measure_5b(report: Report) -> tuple[str, str]:
    rows = results_of(report, first_step(report, *FIGURE5_OVERFIT))
    base, best, _ = _baseline_and_best(rows)
    d = welch(_by(rows, "error", beta=best), _by(rows, "error", beta=base))
    return direction(d, -1), (f"error at β = {best} (the lowest mean) − at β = {base}: {d.text()} points; the lowest "
                              "point is chosen after seeing the data, a lenient reading")


def measure_5c(report: Report) -> tuple[str, str]:
    rows = results_of(report, "figure5")
    _, best, top = _baseline_and_best(rows)
    if best == top:  # the lowest mean is at the largest β: against the lowest of the others
        betas = sorted({r["beta"] for r in rows})[1:-1]
        best = min(betas, key=lambda b: _by(rows, "error", beta=b).mean)
    d = welch(_by(rows, "error", beta=top), _by(rows, "error", beta=best))
    return direction(d, +1), (f"error at the largest β = {top} − at β = {best} (the lowest mean of the others): "
                              f"{d.text()} points")


def measure_5a(report: Report) -> tuple[str, str]:
    return _trend(results_of(report, "figure5"), "total_correlation", -1, label="total correlation per unit (nats)")


def estimate_trend(step: str, key: str, sign: int, label: str) -> Callable[[Report], tuple[str, str]]:
    def test(report: Report) -> tuple[str, str]:
        rows = sorted(results_of(report, step), key=lambda r: r["beta"])
        _require(rows, key)
        points = [(r["beta"], estimate(r.get(key), r.get(f"{key}_stderr"))) for r in rows if r["beta"] > 0]
        if any(m is None for _, m in points):
            return NOT_TESTABLE, f"{label}: failed estimate (not a number) at some β"
        s = slope([b for b, _ in points], [m for _, m in points])
        return direction(s, sign), f"{label}: slope {s.text(3) if s else 'n/a'} per doubling of β"
    return test


# -------------------------------------------------------------------------------------------------- Table I

def vae_rows(report: Report) -> list[dict]:
    rows = [r for r in results_of(report, "table1") if r["latent"] == "gaussian"]
    rows += [{**r, "latent": "information-log-normal"} for r in report.results("table1-log-normal") or []]
    return rows


def measure_t1(report: Report) -> tuple[str, str]:
    rows = vae_rows(report)
    ks = sorted({r["k"] for r in rows if r["latent"] == "information-log-normal"})
    parts = []
    for k in ks:
        a, b = _by(rows, "elbo", latent="information-log-normal", k=k), _by(rows, "elbo", latent="gaussian", k=k)
        if a is None or b is None:
            raise NotMeasured(f"k = {k} lacks a latent's finite bound")
        d = welch(a, b)
        parts.append((within(d, T1_TOLERANCE), f"k = {k}: {d.text(1)} nats ({b.n} and {a.n} seeds)"))
    if not parts:
        raise NotMeasured("no log-normal Information latent run")
    verdict, text = _combine(parts)
    return verdict, f"Information (log-normal) − Gaussian bound: {text}; tolerance ±{T1_TOLERANCE} nats"


def measure_t1abs(report: Report) -> tuple[str, str]:
    rows = vae_rows(report)
    parts = []
    for k in sorted({r["k"] for r in rows if r["latent"] == "gaussian"}):
        ours = _by(rows, "elbo", latent="gaussian", k=k)
        if ours is None or k not in PAPER_TABLE1["gaussian"]:
            continue
        d = one_sample(ours, PAPER_TABLE1["gaussian"][k])
        parts.append((within(d, T1_TOLERANCE), f"k = {k}: Gaussian ours − paper's {d.text(1)} nats"))
    if not parts:
        raise NotMeasured("no Gaussian run at a k of the paper's")
    return _combine(parts)


def kl_above_mine(step: str) -> Callable[[Report], tuple[str, str]]:
    """Each layer's KL against the MINE lower bound of I(x; z) it bounds from above: a sanity check, as a KL
    of thousands of nats cannot fall below a bound of at most log N."""
    def test(report: Report) -> tuple[str, str]:
        rows = results_of(report, step)
        layers = sorted({key[:-len(".kl")] for r in rows for key in r if key.endswith(".kl")})
        pairs = [(r["beta"], layer, r[f"{layer}.kl"], r.get(f"{layer}.mine_x_z"), r.get(f"{layer}.mine_x_z_stderr"))
                 for r in rows for layer in layers]
        # A bound that is not a number failed; one not above 0 says nothing of I(x; z) ≥ 0: both are left out.
        valid = [p for p in pairs if finite(p[3]) and finite(p[4]) and p[3] > 0]
        failed = sum(not (finite(p[3]) and finite(p[4])) for p in pairs)
        empty = len(pairs) - len(valid) - failed
        left_out = " and ".join(part for part in (f"{failed} failed estimate(s) (not a number)" if failed else "",
                                                  f"{empty} bound(s) not above 0" if empty else "") if part)
        if not valid:
            raise NotMeasured(f"no informative MINE bound of I(x; z) ({left_out})")
        below = [f"β = {b} ({layer})" for b, layer, kl, mine, se in valid if mine - 1.96 * se > kl]
        least = min(kl - mine for _, _, kl, mine, _ in valid)
        return (FAILS if below else HOLDS), (
            f"{len(valid) - len(below)} of {len(valid)} (β, layer) pairs have KL ≥ MINE; least margin {least:.1f} nats"
            + (f"; below at {', '.join(below)}" if below else "") + (f"; left out: {left_out}" if left_out else ""))
    return test


def argv_value(report: Report, step: str, key: str) -> str | None:
    """The value of ``key=`` on the command line step ``step`` ran with, from the ledger."""
    for arg in report.ledger.get(step, {}).get("argv", []):
        if arg.startswith(f"{key}="):
            return arg.split("=", 1)[1]
    return None
