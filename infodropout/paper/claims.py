"""The paper's claims as declarative records, each judged on the runs of a reproduction.

A :class:`Claim` is the paper's gist (or an added check, marked as such), the preconditions under which a run
can test it (named as in CLAIMS.md), what is measured, and its test: a function of the report's results that
returns the verdict and what it measured. :func:`judge` checks the preconditions on the runs' own results
first: where one is not met, or not measured, the claim is *not testable here* with the reason, whatever the
numbers say. Sanity checks (:data:`SANITY`) are shown beside the claims but are not claims and not counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infodropout.paper import preconditions as pre
from infodropout.paper.preconditions import Condition
from infodropout.paper.verdicts import (
    FAILS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, Difference, Measured, direction, estimate, every, finite, one_sample,
    over_seeds, paired, slope, welch, within,
)

if TYPE_CHECKING:
    from infodropout.paper.page import Report

PAPER, ADDED = "paper", "added"
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


@dataclass(frozen=True)
class Claim:
    """One claim: who says it, when it can be tested, what is measured, and its test."""

    id: str
    section: str  # the report's section that shows its figure or table
    gist: str  # the paper's claim in its own terms, or the added check
    source: str  # PAPER or ADDED
    preconditions: tuple[str, ...]
    measure: str
    test: Callable[[Report], tuple[str, str]]  # (verdict, what was measured)
    steps: tuple[str, ...] = ()  # the steps whose results it reads, the first being its preconditions'
    options: dict = field(default_factory=dict, compare=False)  # what its preconditions read (keys, steps)


@dataclass(frozen=True)
class Judgement:
    claim: Claim
    verdict: str
    measured: str
    conditions: tuple[Condition, ...]
    reason: str = ""  # why not testable

    def record(self) -> dict:
        """What claims-<scale>.json keeps of it."""
        return {"id": self.claim.id, "section": self.claim.section, "claim": self.claim.gist,
                "source": self.claim.source, "verdict": self.verdict, "reason": self.reason}


# ------------------------------------------------------------------------------------------- reading results

def _rows(report: Report, step: str) -> list[dict]:
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

def _histogram(report: Report, step: str) -> dict:
    import json

    folder = report.folder(step) if step in report.steps else None
    if folder is None or not (folder / "histogram.json").exists():
        raise NotMeasured(f"step {step} has no histogram.json")
    return json.loads((folder / "histogram.json").read_text())


def _shape(summary: dict, *keys: str) -> None:
    if not all(k in summary for k in keys):
        raise NotMeasured("log z's shape statistics are not in histogram.json (written before they were)")


def test_1a(report: Report) -> tuple[str, str]:
    summary = _histogram(report, "figure1-relu")
    _shape(summary, "ks_uniform_central")
    ks = summary["ks_uniform_central"]
    verdict = HOLDS if ks <= FLAT else FAILS if ks >= BELL else INCONCLUSIVE
    return verdict, (f"KS distance of log z's central 90 % to a uniform on its 5–95 % range: {ks:.3f} (holds ≤ "
                     f"{FLAT}, fails ≥ {BELL}, an exact normal's); {100 * summary['zero_fraction']:.1f} % of the units "
                     "at 0, counted apart")


def test_1b(report: Report) -> tuple[str, str]:
    summary = _histogram(report, "figure1-softplus")
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
    summary = _histogram(report, "figure1-softplus")
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


def test_2a(report: Report) -> tuple[str, str]:
    rows = _rows(report, "figure2-sweep")
    parts = []
    for layer in _cluttered_layers(rows):
        verdict, text = _trend(rows, f"{layer}.mass_inside", +1, label=f"{layer}: KL share in the digit's box")
        ink = _by(rows, f"{layer}.mass_inside_ink")
        parts.append((verdict, text + (f" (ink baseline {ink.text(3)})" if ink else " (no ink baseline recorded)")))
    if not parts:
        raise NotMeasured("no `<layer>.mass_inside` in the results")
    return _combine(parts)


def test_2b(report: Report) -> tuple[str, str]:
    rows = _rows(report, "figure2-sweep")
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


def test_2c(report: Report) -> tuple[str, str]:
    return _trend(_rows(report, "figure2-sweep"), "error", -1, label="test error")


# -------------------------------------------------------------------------------------------- figure 3a

def _chosen_rate(report: Report) -> tuple[dict, list[dict]] | None:
    """Figure 3a-lr's choice and its final runs (at the chosen rate, on the whole training set), if any."""
    import json

    if "figure3a-lr" not in report.steps or report.folder("figure3a-lr") is None:
        return None
    path = report.folder("figure3a-lr") / "choice.json"
    rows = report.results("figure3a-lr")
    if not path.exists() or rows is None:
        return None
    choice = json.loads(path.read_text())
    final = [r for r in rows if not r.get("validation") and r["learning_rate"] == choice["chosen"]]
    return choice, final


def _fc_errors(report: Report, other: str) -> tuple[list[int], dict, dict, list[str]]:
    """Figure 3a's widths usable for information vs ``other``: a width where either has more than 10 % dead
    units is compared at ``other``'s learning rate chosen on held-out training images where figure3a-lr chose
    one there, else left out. Returns the widths, per width the (information, other) errors by seed, the dead
    shares, and notes on what was replaced or left out."""
    rows = _rows(report, "figure3a")
    widths = sorted({r["width"] for r in rows})
    chosen = _chosen_rate(report)
    used, errors, notes = [], {}, []
    for width in widths:
        info, theirs = _seeds(rows, "error", dropout="information", width=width), \
            _seeds(rows, "error", dropout=other, width=width)
        dead = {m: max((r.get("dead_fraction_max") or 0.0 for r in rows if r["dropout"] == m and r["width"] == width),
                       default=0.0) for m in ("information", other)}
        if not info or not theirs:
            continue
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
    return used, errors, dead, notes


def _against(other: str) -> Callable[[Report], tuple[str, str]]:
    def test(report: Report) -> tuple[str, str]:
        widths, errors, _, notes = _fc_errors(report, other)
        if not widths:
            raise NotMeasured("no width without an optimisation failure: " + "; ".join(notes))
        parts = [_compare(f"at {w}", welch(over_seeds(errors[w][0].values()), over_seeds(errors[w][1].values())), -1)
                 for w in widths]
        verdict, text = _combine(parts, ", ")
        return verdict, f"information − {other} (points): {text}" + ("; " + "; ".join(notes) if notes else "")
    return test


def test_3a2(report: Report) -> tuple[str, str]:
    widths, errors, _, notes = _fc_errors(report, "binary")
    rows = _rows(report, "figure3a")
    all_widths = sorted({r["width"] for r in rows})
    if len(all_widths) < 2 or all_widths[0] not in widths or all_widths[-1] not in widths:
        raise NotMeasured("the smallest and largest widths are not both comparable: " + "; ".join(notes))
    small, large = all_widths[0], all_widths[-1]
    gap = {w: {s: errors[w][1][s] - errors[w][0][s] for s in set(errors[w][0]) & set(errors[w][1])}
           for w in (small, large)}
    d = paired(gap[small], gap[large])
    verdict, text = _compare("", d, +1)
    return verdict, (f"(binary − information) at {small} units minus at {large}: {text.strip()}"
                     + ("; " + "; ".join(notes) if notes else ""))


def _fc_no_failure(report: Report, claim: Claim) -> Condition:
    widths, _, _, notes = _fc_errors(report, claim.options["other"])
    rows = _rows(report, "figure3a")
    if any(r.get("dead_fraction_max") is None for r in rows):
        return Condition(pre.NO_OPTIMISATION_FAILURE, None, "no dead-unit count (`dead_fraction_max`)")
    return Condition(pre.NO_OPTIMISATION_FAILURE, bool(widths),
                     ("; ".join(notes) if notes else f"every width under {100 * pre.DEAD_LIMIT:.0f} % dead"))


# ------------------------------------------------------------------------------------------ figures 3b, 6

def test_3b(report: Report) -> tuple[str, str]:
    rows = _rows(report, "figure3b-6")
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


def test_6a1(report: Report) -> tuple[str, str]:
    info, layers = _info_layers(_rows(report, "figure3b-6"))
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
    return verdict, text + f" (0: constant, 1: in proportion to the filters; holds within ±{SHARE_ELASTICITY})"


def _layer_pairs(measure: str, sign: int) -> Callable[[Report], tuple[str, str]]:
    def test(report: Report) -> tuple[str, str]:
        info, layers = _info_layers(_rows(report, "figure3b-6"))
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


def test_6b1(report: Report) -> tuple[str, str]:
    info, layers = _info_layers(_rows(report, "figure3b-6"))
    if not layers:
        raise NotMeasured("no `<layer>.per_unit` in the results")
    return _combine([_trend(info, f"{layer}.per_unit", -1, x="filter_percentage", label=f"{layer} KL per unit")
                     for layer in layers])


# ---------------------------------------------------------------------------------------- figures 4, 5

def _step(report: Report, *names: str) -> str:
    """The first of ``names`` that the plan has (a data-limited overfitting setting before the larger runs)."""
    return next((name for name in names if name in report.steps), names[-1])


FIGURE4_OVERFIT = ("figure4-overfit", "figure4")
FIGURE5_OVERFIT = ("figure5-overfit", "figure5")


def test_4a(report: Report) -> tuple[str, str]:
    rows = _rows(report, "figure4")
    verdict, text = _trend(rows, "nuisance_error", +1, label="nuisance probe error")
    random = _by(rows, "nuisance_error_random")
    return verdict, text + f"; chance {pre.CHANCE_ERROR:.0f} %" + (f", a random network {random} %" if random else "")


def test_4b(report: Report) -> tuple[str, str]:
    rows = _rows(report, _step(report, *FIGURE4_OVERFIT))
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


def test_5b(report: Report) -> tuple[str, str]:
    rows = _rows(report, _step(report, *FIGURE5_OVERFIT))
    base, best, _ = _baseline_and_best(rows)
    d = welch(_by(rows, "error", beta=best), _by(rows, "error", beta=base))
    return direction(d, -1), (f"error at β = {best} (the lowest mean) − at β = {base}: {d.text()} points; the lowest "
                              "point is chosen after seeing the data, a lenient reading")


def test_5c(report: Report) -> tuple[str, str]:
    rows = _rows(report, "figure5")
    _, best, top = _baseline_and_best(rows)
    if best == top:  # the lowest mean is at the largest β: against the lowest of the others
        betas = sorted({r["beta"] for r in rows})[1:-1]
        best = min(betas, key=lambda b: _by(rows, "error", beta=b).mean)
    d = welch(_by(rows, "error", beta=top), _by(rows, "error", beta=best))
    return direction(d, +1), (f"error at the largest β = {top} − at β = {best} (the lowest mean of the others): "
                              f"{d.text()} points")


def test_5a(report: Report) -> tuple[str, str]:
    return _trend(_rows(report, "figure5"), "total_correlation", -1, label="total correlation per unit (nats)")


def _estimate_trend(step: str, key: str, sign: int, label: str) -> Callable[[Report], tuple[str, str]]:
    def test(report: Report) -> tuple[str, str]:
        rows = sorted(_rows(report, step), key=lambda r: r["beta"])
        _require(rows, key)
        points = [(r["beta"], estimate(r.get(key), r.get(f"{key}_stderr"))) for r in rows if r["beta"] > 0]
        if any(m is None for _, m in points):
            return NOT_TESTABLE, f"{label}: failed estimate (not a number) at some β"
        s = slope([b for b, _ in points], [m for _, m in points])
        return direction(s, sign), f"{label}: slope {s.text(3) if s else 'n/a'} per doubling of β"
    return test


# -------------------------------------------------------------------------------------------------- Table I

def _vae_rows(report: Report) -> list[dict]:
    rows = [r for r in _rows(report, "table1") if r["latent"] == "gaussian"]
    rows += [{**r, "latent": "information-log-normal"} for r in report.results("table1-log-normal") or []]
    return rows


def test_t1(report: Report) -> tuple[str, str]:
    rows = _vae_rows(report)
    ks = sorted({r["k"] for r in rows if r["latent"] == "information-log-normal"})
    parts = []
    for k in ks:
        a, b = _by(rows, "elbo", latent="information-log-normal", k=k), _by(rows, "elbo", latent="gaussian", k=k)
        if a is None or b is None:
            raise NotMeasured(f"k = {k} lacks a latent's finite bound")
        d = welch(a, b)
        parts.append((within(d, T1_TOLERANCE), f"k = {k}: {d.text(1)} nats ({a.n} and {b.n} seeds)"))
    if not parts:
        raise NotMeasured("no log-normal Information latent run")
    verdict, text = _combine(parts)
    return verdict, f"Information (log-normal) − Gaussian bound: {text}; holds within ±{T1_TOLERANCE} nats"


def test_t1abs(report: Report) -> tuple[str, str]:
    rows = _vae_rows(report)
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


def _training_digits(report: Report, claim: Claim) -> Condition:
    rows = _vae_rows(report)
    digits = sorted({r["train_images"] for r in rows if "train_images" in r})
    if not digits:
        return Condition("60,000 training digits", None, "the number of training digits is not recorded")
    return Condition("60,000 training digits", min(digits) >= MNIST_TRAIN_DIGITS,
                     f"trained on {', '.join(f'{n:,}' for n in digits)} digits, the paper on {MNIST_TRAIN_DIGITS:,}")


def _argv_value(report: Report, step: str, key: str) -> str | None:
    for arg in report.ledger.get(step, {}).get("argv", []):
        if arg.startswith(f"{key}="):
            return arg.split("=", 1)[1]
    return None


def _same_budget(report: Report, claim: Claim) -> Condition:
    rows = _vae_rows(report)
    budgets = {}
    for step, latent in (("table1", "gaussian"), ("table1-log-normal", "information-log-normal")):
        mine = [r for r in rows if r["latent"] == latent]
        budgets[latent] = (tuple(sorted({(r.get("max_epochs"), r.get("validation"), r.get("train_images"))
                                         for r in mine})),
                           _argv_value(report, step, "patience"), _argv_value(report, step, "lr_drops"))
    same = len(set(budgets.values())) == 1
    gauss = budgets["gaussian"]
    return Condition(pre.SAME_BUDGET, same, "same epoch limit, held-out digits, patience and drops" if same else
                     "; ".join(f"{latent}: {value}" for latent, value in budgets.items()) if gauss else "")


def _converged(report: Report, claim: Claim) -> Condition:
    rows = _vae_rows(report)
    if any("best_epoch" not in r for r in rows):
        return Condition(pre.CONVERGED, None, "no stopping record (best and last epoch)")
    late = []
    for r in rows:
        step = "table1" if r["latent"] == "gaussian" else "table1-log-normal"
        patience = r.get("patience") or _argv_value(report, step, "patience")
        patience = int(patience) if patience else None
        stopped = r["last_epoch"] < r["max_epochs"] or (patience and r["last_epoch"] - r["best_epoch"] >= patience)
        if not stopped:
            late.append(f"{r['latent']} k = {r['k']} seed {r.get('seed', 0)} (best epoch {r['best_epoch']} of "
                        f"{r['last_epoch']}, limit {r['max_epochs']})")
    return Condition(pre.CONVERGED, not late, "every run stopped by its patience" if not late else
                     "still improving at the epoch limit: " + ", ".join(late))


# ------------------------------------------------------------------------------------------- preconditions

def _primary(report: Report, claim: Claim) -> str:
    """The step whose runs a claim's preconditions read: its overfitting setting where the plan has one."""
    return _step(report, *claim.options["overfit_steps"]) if "overfit_steps" in claim.options else claim.steps[0]


def _learned(report: Report, claim: Claim) -> Condition:
    step = claim.options.get("learned_step") or _primary(report, claim)
    if step.startswith("figure1"):
        summary = _histogram(report, step)
        return pre.learned([summary], where=" of the histogram's network")
    rows = _rows(report, step)
    return pre.learned(rows, claim.options.get("train_key", "train_error"))


def _overfits(report: Report, claim: Claim) -> Condition:
    return pre.overfits(_rows(report, _primary(report, claim)), claim.options.get("error_key", "error"),
                        claim.options.get("train_key", "train_error"))


CHECKS: dict[str, Callable[[Report, Claim], Condition]] = {
    pre.LEARNED: _learned,
    pre.OVERFITS: _overfits,
    pre.NO_OPTIMISATION_FAILURE: _fc_no_failure,
    pre.PROBE_FITS: lambda report, claim: pre.probe_fits(_rows(report, claim.steps[0])),
    pre.ESTIMATOR_VALID: lambda report, claim: pre.estimator_valid(_rows(report, claim.steps[0]),
                                                                  claim.options["keys"],
                                                                  claim.options.get("lower_bound", False)),
    pre.SAME_BUDGET: _same_budget,
    pre.CONVERGED: _converged,
    "60,000 training digits": _training_digits,
}


# ------------------------------------------------------------------------------------------------ records

F1, F2, F3A, F3B6, F4, F5, T1 = ("Figure 1", "Figures 2 and 7", "Figure 3a", "Figures 3b and 6", "Figure 4", "Figure 5",
                                 "Table I")
LEARNED, OVERFITS = pre.LEARNED, pre.OVERFITS
FC = (pre.LEARNED, pre.NO_OPTIMISATION_FAILURE)
OCCLUDED_MAIN = {"train_key": "main_train_error_D"}

CLAIMS: tuple[Claim, ...] = (
    Claim("1a", F1, "ReLU: the post-noise activations approximately follow the log-uniform prior", PAPER, (LEARNED,),
          "flatness of log z over its 5–95 % range (KS distance to a uniform), zeros counted apart", test_1a,
          ("figure1-relu",)),
    Claim("1b", F1, "Softplus: they approximately follow the log-normal prior", PAPER, (LEARNED,),
          "log z's shape against a normal: KS distance, skew, excess kurtosis", test_1b, ("figure1-softplus",)),
    Claim("2a", F2, "at low β nuisance information still reaches the upper layers; at higher β the layers drop it",
          PAPER, (LEARNED,), "KL share inside the digit's box (1 − the share on the clutter) against log β, layers "
          "2 and 3, beside the ink baseline", test_2a, ("figure2-sweep",)),
    Claim("2b", F2, "the KL map alone localises the digit", PAPER, (LEARNED,),
          "share of KL maps peaking inside the digit's box minus the same score on the input's ink, largest β, "
          "layers 2 and 3", test_2b, ("figure2-sweep",)),
    Claim("2c", F2, "higher β: a representation more robust to nuisances, better generalisation", PAPER,
          (LEARNED, OVERFITS), "test error against log β", test_2c, ("figure2-sweep",)),
    Claim("3a1", F3A, "Information Dropout is comparable to or better than binary dropout", PAPER, FC,
          "error difference per width (Welch)", _against("binary"), ("figure3a",), {"other": "binary"}),
    Claim("3a2", F3A, "… especially on smaller networks", PAPER, FC,
          "(binary − information) at the smallest width minus at the largest, paired by seed", test_3a2,
          ("figure3a",), {"other": "binary"}),
    Claim("3a3", F3A, "better than constant log-normal noise of the same variance", PAPER, FC,
          "error difference per width (Welch)", _against("lognormal"), ("figure3a",), {"other": "lognormal"}),
    Claim("3a4", F3A, "Information Dropout has a lower error than no dropout", ADDED, FC,
          "error difference per width (Welch)", _against("none"), ("figure3a",), {"other": "none"}),
    Claim("3b", F3B6, "comparable or better than binary dropout, especially with fewer filters", PAPER, (LEARNED,),
          f"error difference per share (Welch); a share with fewer than {FEWEST_FILTERS} filters a layer left out",
          test_3b, ("figure3b-6",)),
    Claim("4a", F4, "larger β: the nuisance (the occluding digit) is harder to classify from the representation",
          PAPER, (LEARNED, pre.PROBE_FITS), "nuisance probe error against log β; chance and a random network as "
          "baselines", test_4a, ("figure4",), OCCLUDED_MAIN),
    Claim("4b", F4, "larger β improves the main task by preventing overfitting (N and D)", PAPER,
          (LEARNED, OVERFITS), "main error D and N against log β", test_4b, FIGURE4_OVERFIT,
          {**OCCLUDED_MAIN, "error_key": "main_error_D", "overfit_steps": FIGURE4_OVERFIT}),
    Claim("4a-mi", F4, "the nuisance leaves the representation: the MINE bound of I(z; nuisance) falls with β",
          ADDED, (LEARNED, pre.ESTIMATOR_VALID), "MINE I(z; nuisance) against log β, weighted by its standard errors",
          _estimate_trend("probes-figure4", "N.mi_nuisance", -1, "MINE I(z; nuisance) (nats)"), ("probes-figure4",),
          {"keys": ("N.mi_nuisance",), "lower_bound": True, "learned_step": "figure4", **OCCLUDED_MAIN}),
    Claim("5a", F5, "larger β: the total correlation of the last layer falls (disentangled)", PAPER, (LEARNED,),
          "bias-corrected Gaussian total correlation against log β", test_5a, ("figure5",)),
    Claim("5a-ndm", F5, "the units grow more independent with β, by NDM (independent of the Gaussian estimate)",
          ADDED, (LEARNED, pre.ESTIMATOR_VALID), "NDM against log β, weighted by its standard errors",
          _estimate_trend("probes-figure5", "ndm", -1, "NDM (nats)"), ("probes-figure5",),
          {"keys": ("ndm",), "learned_step": "figure5"}),
    Claim("5b", F5, "larger β: the test error decreases (prevents overfitting)", PAPER, (LEARNED, OVERFITS),
          "error at the best β against β = 0 (else the smallest β)", test_5b, FIGURE5_OVERFIT,
          {"overfit_steps": FIGURE5_OVERFIT}),
    Claim("5c", F5, "too large a β: the error increases drastically", PAPER, (LEARNED,),
          "error at the largest β against the lowest", test_5c, ("figure5",)),
    Claim("6a1", F3B6, "the total information through a layer does not vary much with the number of filters", PAPER,
          (LEARNED,), f"slope of log₂ total KL against log₂ share, within ±{SHARE_ELASTICITY}", test_6a1,
          ("figure3b-6",)),
    Claim("6a2", F3B6, "the second dropout layer transmits less information than the first", PAPER, (LEARNED,),
          "total KL, layer 2 − layer 1, per share (paired by run)", _layer_pairs("total", -1), ("figure3b-6",)),
    Claim("6b1", F3B6, "fewer filters: more information per unit", PAPER, (LEARNED,),
          "KL per unit against log₂ share, each layer", test_6b1, ("figure3b-6",)),
    Claim("6b2", F3B6, "units of the top dropout layer carry more information than the bottom's", PAPER, (LEARNED,),
          "KL per unit, layer 2 − layer 1, per share (paired by run)", _layer_pairs("per_unit", +1), ("figure3b-6",)),
    Claim("T1", T1, "Information latent ≈ Gaussian latent (−100.0/−99.1/−99.1 vs −98.8/−99.0/−98.7)", PAPER,
          (pre.SAME_BUDGET, pre.CONVERGED), f"bound difference per k (Welch over seeds) within ±{T1_TOLERANCE} nats",
          test_t1, ("table1", "table1-log-normal")),
    Claim("T1abs", T1, "the bounds are about −99 nats", PAPER, ("60,000 training digits",),
          f"Gaussian bound against the paper's, within ±{T1_TOLERANCE} nats", test_t1abs, ("table1",)),
)

def _kl_above_mine(step: str) -> Callable[[Report], tuple[str, str]]:
    """Each layer's KL against the MINE lower bound of I(x; z) it bounds from above: a sanity check, as a KL
    of thousands of nats cannot fall below a bound of at most log N."""
    def test(report: Report) -> tuple[str, str]:
        rows = _rows(report, step)
        layers = sorted({key[:-len(".kl")] for r in rows for key in r if key.endswith(".kl")})
        pairs = [(r["beta"], layer, r[f"{layer}.kl"], r.get(f"{layer}.mine_x_z"), r.get(f"{layer}.mine_x_z_stderr"))
                 for r in rows for layer in layers]
        valid = [p for p in pairs if finite(p[3]) and finite(p[4])]
        if not valid:
            raise NotMeasured("no finite MINE bound of I(x; z)")
        below = [f"β = {b} ({layer})" for b, layer, kl, mine, se in valid if mine - 1.96 * se > kl]
        failed = len(pairs) - len(valid)
        least = min(kl - mine for _, _, kl, mine, _ in valid)
        return (FAILS if below else HOLDS), (
            f"{len(valid) - len(below)} of {len(valid)} (β, layer) pairs have KL ≥ MINE; least margin {least:.1f} nats"
            + (f"; below at {', '.join(below)}" if below else "")
            + (f"; {failed} failed estimates (not a number) left out" if failed else ""))
    return test



SANITY: tuple[Claim, ...] = (
    Claim("1b-fit", F1, "the learned prior's μ and σ match log z's mean and spread (they are fitted to it)", ADDED,
          (), "|mean − μ| ≤ σ/2, std/σ in [0.5, 2]", sanity_1b_fit, ("figure1-softplus",)),
    *(Claim(f"KL≥MINE {name.removeprefix('probes-')}", "Independent estimates",
            "each layer's KL is at least the information it lets through", ADDED, (),
            "KL against the MINE lower bound of I(x; z), per β and layer (1.96 standard errors)", _kl_above_mine(name),
            (name,)) for name in ("probes-figure5", "probes-figure4", "probes-figure2")),
)


def judge(claim: Claim, report: Report) -> Judgement:
    """Check ``claim``'s preconditions on the runs, then run its test: not testable where a precondition is not
    met or not measured, or where the results lack what the test reads."""
    conditions = []
    for name in claim.preconditions:
        try:
            conditions.append(CHECKS[name](report, claim))
        except NotMeasured as missing:
            conditions.append(Condition(name, None, str(missing)))
        except KeyError as missing:
            conditions.append(Condition(name, None, f"no `{missing.args[0]}` in the results"))
    try:
        verdict, measured = claim.test(report)
    except NotMeasured as missing:
        verdict, measured = NOT_TESTABLE, f"not measured: {missing}"
    except KeyError as missing:  # results of a plan that did not record a key the test reads
        verdict, measured = NOT_TESTABLE, f"not measured: no `{missing.args[0]}` in the results"
    unmet = [c for c in conditions if not c.met]
    if unmet:
        return Judgement(claim, NOT_TESTABLE, measured, tuple(conditions),
                         "; ".join(f"{c.name} {'not measured' if c.met is None else 'not met'}" for c in unmet))
    if verdict == NOT_TESTABLE:
        return Judgement(claim, NOT_TESTABLE, measured, tuple(conditions),
                         "failed estimate" if "failed estimate" in measured else measured.removeprefix("not measured: "))
    return Judgement(claim, verdict, measured, tuple(conditions))


def judge_all(report: Report, claims: Sequence[Claim] = CLAIMS) -> list[Judgement]:
    return [judge(claim, report) for claim in claims]
