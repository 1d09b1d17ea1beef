"""Whether a claim of the paper holds, fails or cannot be told from the noise of our runs: standard errors.

Every comparison in the report is between numbers measured over seeds, and is judged by a 95 % two-sided confidence
interval: a difference of means (:func:`welch`, :func:`paired`), a trend as a slope over log₂ x (:func:`slope`), an
estimate against a reference (:func:`one_sample`), each read by :func:`direction`, :func:`within` (equivalence) or
:func:`not_worse` (non-inferiority), several at once by :func:`every`. The rule is stated once, in :data:`RULE`, the
words the report prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

HOLDS, FAILS, INCONCLUSIVE, NOT_TESTABLE = "holds", "fails", "inconclusive", "not testable here"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_TESTABLE)
CONFIDENCE = 0.95
POWER = 0.80  # the power at which an inconclusive verdict states the smallest effect its plan could detect
MOST_SEEDS = 100  # beyond this many seeds a plan is not worth stating as "would need"

# CLAIMS.md's smallest effect of interest (SESOI), in points of test error, for the claims that a method or β lowers
# the error (2c, 3a3, 3a4, 3b2, 4b, 5b): an interval that excludes an effect that large in the claimed direction fails
# the claim ("no effect as large as the SESOI").
SESOI = 1.0
# It was stated on 2026-12-07 by the audit of issue 45, which read every step the ledger then held: the last of them
# finished at this time (the ledger's clock). A margin judges only the runs it was stated before (CLAIMS.md), so the
# SESOI judges only the runs of steps that finished after this; on earlier runs what it would say is shown, not applied.
SESOI_STATED_AFTER = "2026-12-07 06:58:14"

RULE = ("Every verdict reads a 95 % two-sided confidence interval: a difference of seed means with its Welch "
        "standard error √(s₁²/n₁ + s₂²/n₂) and Welch–Satterthwaite degrees of freedom, or, where the two sides "
        "share their seeds (same seed, same data), the paired standard error of the per-seed differences (n − 1 "
        "degrees of freedom; each such comparison says *paired*); a trend as the least-squares slope of the value "
        "against log₂ of β or of the share of filters (its change per doubling), fitted to every seed's point, "
        "with the slope's standard error from the residuals (n − 2 degrees of freedom), or weighted by the "
        "estimator's own standard errors where each point is one estimate with one. The interval is the estimate "
        "± the Student t quantile × its standard error. A claim **holds** where the interval lies wholly in the "
        "claimed direction, **fails** where it lies wholly in the opposite one, and is **inconclusive** otherwise "
        "(always with one seed: no standard error). A claim of equivalence holds where the interval lies within "
        "the stated tolerance and fails where it lies wholly outside it. A claim with a smallest effect of interest "
        "(SESOI, 1 point of test error for 2c, 3a3, 3a4, 3b2, 4b and 5b) also fails where the interval excludes an "
        "effect that large in the claimed direction (*no effect as large as the SESOI*), judged only on runs that "
        f"finished after it was stated (2026-12-07, after the steps then recorded, the last at {SESOI_STATED_AFTER}): "
        "on earlier runs a comparison is judged without it and what it would say is shown beside (*stated after "
        "these runs*); where seeds were added after it, the direction is read on every seed and the SESOI on the "
        "added seeds alone. "
        "A claim over several widths, shares or layers holds where all hold and fails where any fails. A claim whose precondition is not met by the runs "
        "themselves is **not testable here**, whatever the numbers say; an estimate that is not a finite number "
        "is a *failed estimate*, never a verdict.")


@dataclass(frozen=True)
class Measured:
    """A quantity measured once per seed; or one estimate with its own standard error (``error``)."""

    values: tuple[float, ...]
    error: float | None = None  # an estimator's standard error (over evaluation batches), where it has one

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float | None:
        """The sample standard deviation over seeds (n − 1); None with one seed."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else None

    @property
    def stderr(self) -> float | None:
        """The standard error of the mean: the estimator's own where given, else s/√n; None with one seed."""
        if self.error is not None:
            return float(self.error)
        return None if self.std is None else self.std / np.sqrt(self.n)

    @property
    def dof(self) -> float:
        """The degrees of freedom of :attr:`stderr`: n − 1 over seeds, ∞ for an estimator's own error."""
        return np.inf if self.error is not None else float(self.n - 1)

    def text(self, digits: int = 2) -> str:
        """``mean ± s`` (the sample standard deviation over seeds, or the estimator's standard error)."""
        spread = self.error if self.error is not None else self.std
        return f"{self.mean:.{digits}f}" + ("" if spread is None else f" ± {spread:.{digits}f}")

    def __str__(self) -> str:
        return self.text()


def finite(value) -> bool:
    """Whether ``value`` is a finite number (not None, NaN or ±∞)."""
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and bool(np.isfinite(value)))


def over_seeds(values: Iterable[float | None]) -> Measured | None:
    """The finite values as one :class:`Measured`; None if there is none."""
    kept = tuple(float(v) for v in values if finite(v))
    return Measured(kept) if kept else None


def estimate(value: float | None, stderr: float | None) -> Measured | None:
    """One estimate with its standard error (a MINE or NDM bound); None where either is not finite."""
    return Measured((float(value),), float(stderr)) if finite(value) and finite(stderr) else None


def t_quantile(dof: float, level: float = 0.5 + CONFIDENCE / 2) -> float:
    """The ``level`` quantile of Student's t with ``dof`` degrees of freedom (normal at ∞): by default the two-sided
    :data:`CONFIDENCE` one; at :data:`POWER`, the one-sided quantile of the power an effect is detected with."""
    return float(stats.norm.ppf(level) if not np.isfinite(dof) else stats.t.ppf(level, dof))


@dataclass(frozen=True)
class Difference:
    """An estimate (a difference of means, a slope) with its standard error and degrees of freedom."""

    value: float
    stderr: float | None
    dof: float = np.inf
    kind: str = "Welch"  # how the standard error was found: Welch, paired, slope, weighted slope, one sample
    seeds: int = 0  # seeds a side (0: not over seeds, an estimator's own error), for what more seeds would do
    # The groups of runs it reads a seed (two sides; one where both are read off the same runs; a slope's points):
    # what one more seed costs.
    groups: int = 2
    # An equivalence claim's tolerance (0: a claim of direction): what decides it is the distance to the
    # tolerance's nearer edge, not to 0.
    tolerance: float = 0.0
    # A claim of direction judged with a smallest effect of interest: its edge (the SESOI with the claimed sign),
    # which an interval that excludes it decides too; None without one.
    sesoi_edge: float | None = None

    @property
    def deciding_effect(self) -> float:
        """The effect more seeds must resolve: the estimate itself, or for an equivalence claim its distance to
        the tolerance's nearer edge; with a smallest effect of interest, the larger of the estimate's distances to 0
        and to the SESOI's edge (the one fewer seeds resolve)."""
        if self.tolerance:
            return abs(abs(self.value) - self.tolerance)
        if self.sesoi_edge is not None:
            return max(abs(self.value), abs(self.value - self.sesoi_edge))
        return self.value

    @property
    def detectable(self) -> float | None:
        """The smallest effect this plan detects at 95 % two-sided with :data:`POWER` power: (t₀.₉₇₅(dof) +
        t_power(dof)) × the standard error; None without a standard error."""
        if self.interval is None:
            return None
        return (t_quantile(self.dof) + t_quantile(self.dof, POWER)) * self.stderr

    def stderr_with(self, seeds: int) -> tuple[float, float]:
        """The standard error and degrees of freedom the same comparison would have with ``seeds`` seeds a side
        (the same spread between seeds): the error shrinks as 1/√seeds; the degrees of freedom grow as the
        comparison's kind has them (Welch in proportion to n − 1, a slope as its points − 2)."""
        scale = np.sqrt(self.seeds / seeds)
        if self.kind in ("paired", "one sample"):
            dof = seeds - 1.0
        elif self.kind == "slope":
            dof = (self.dof + 2) * seeds / self.seeds - 2
        else:
            dof = self.dof * (seeds - 1) / max(self.seeds - 1, 1)
        return self.stderr * scale, dof

    def seeds_for(self, effect: float) -> int | None:
        """The fewest seeds a side with which an effect of size ``effect`` would be detected (95 % two-sided,
        :data:`POWER` power), the spread between seeds as observed; None where it has no seeds to scale or would
        need more than :data:`MOST_SEEDS`."""
        if self.interval is None or self.seeds < 2 or effect == 0:
            return None
        for seeds in range(2, MOST_SEEDS + 1):
            stderr, dof = self.stderr_with(seeds)
            if dof > 0 and (t_quantile(dof) + t_quantile(dof, POWER)) * stderr <= abs(effect):
                return seeds
        return None

    def power_text(self, digits: int = 2, unit: str = "") -> str:
        """What the plan could have detected: ``smallest detectable ±0.93 (95 %, 80 % power, 3 seeds, ...; an
        effect of the observed size needs about 5 seeds)``; where the observed effect is beyond 1.96 standard
        errors but below the t quantile of so few degrees of freedom (it cannot be significant with these
        seeds, however real), says so."""
        smallest = self.detectable
        if smallest is None:
            return "no standard error: nothing could be detected (one seed)"
        text = f"smallest detectable ±{smallest:.{digits}f}{unit} (95 %, {100 * POWER:.0f} % power"
        if not self.seeds:
            return text + ")"
        text += f", {self.seeds} seeds, t₀.₉₇₅({self.dof:.0f}) = {t_quantile(self.dof):.1f}"
        needed = self.seeds_for(self.deciding_effect)
        ratio = abs(self.deciding_effect) / self.stderr if self.stderr else np.inf
        if t_quantile(np.inf) < ratio < t_quantile(self.dof):
            # Significant by the normal quantile, not by t with so few degrees of freedom: the seeds are too few.
            what = ("the observed effect is" if self.deciding_effect == self.value else
                    "its distance to the edge that would decide it is")
            text += f"; {what} {ratio:.1f} standard errors, which with so few seeds cannot be significant"
        if needed is not None and needed > self.seeds:
            text += f"; an effect of the observed size needs about {needed} seeds"
        elif needed is None and self.deciding_effect:
            text += f"; an effect of the observed size needs more than {MOST_SEEDS} seeds"
        return text + ")"

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95 % confidence interval; None without a standard error."""
        if self.stderr is None or not np.isfinite(self.stderr) or self.dof <= 0:
            return None
        half = t_quantile(self.dof) * self.stderr
        return self.value - half, self.value + half

    def text(self, digits: int = 2, unit: str = "") -> str:
        """``+1.20 ± 0.40 SE [0.35, 2.05]`` (the interval at 95 %), or the value alone where no SE exists."""
        if self.interval is None:
            return f"{self.value:+.{digits}f}{unit} (no standard error)"
        low, high = self.interval
        paired = ", paired" if self.kind == "paired" else ""
        return (f"{self.value:+.{digits}f}{unit} ± {self.stderr:.{digits}f} SE{paired}, 95 % CI "
                f"[{low:+.{digits}f}, {high:+.{digits}f}]")

    def __str__(self) -> str:
        return self.text()


def welch(a: Measured, b: Measured) -> Difference:
    """mean(a) − mean(b) with its Welch standard error and Welch–Satterthwaite degrees of freedom (None where
    a side has no standard error)."""
    d = a.mean - b.mean
    if a.stderr is None or b.stderr is None:
        return Difference(d, None)
    va, vb = a.stderr ** 2, b.stderr ** 2
    se = float(np.sqrt(va + vb))
    if va + vb == 0:
        return Difference(d, 0.0, np.inf)
    # Welch–Satterthwaite: (va + vb)² / (va²/dof_a + vb²/dof_b); an estimator's own error has dof ∞.
    denominator = sum(v * v / dof for v, dof in ((va, a.dof), (vb, b.dof)) if np.isfinite(dof) and v > 0)
    dof = np.inf if denominator == 0 else float((va + vb) ** 2 / denominator)
    return Difference(d, se, dof, "Welch", 0 if not np.isfinite(dof) else min(a.n, b.n))


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> Difference | None:
    """a − b seed by seed over the seeds both have (same seed, same data): the mean difference with the
    paired standard error s_d/√n and n − 1 degrees of freedom; None where no seed is shared."""
    d = [a[s] - b[s] for s in sorted(set(a) & set(b)) if finite(a[s]) and finite(b[s])]
    if not d:
        return None
    if len(d) == 1:
        return Difference(d[0], None, kind="paired")
    return Difference(float(np.mean(d)), float(np.std(d, ddof=1) / np.sqrt(len(d))), len(d) - 1.0, "paired", len(d))


def one_sample(m: Measured, reference: float = 0.0) -> Difference:
    """mean(m) − ``reference`` with the standard error of the mean."""
    return Difference(m.mean - reference, m.stderr, m.dof, "one sample", 0 if m.error is not None else m.n, 1)


def slope(xs: Sequence[float], measured: Sequence[Measured | None]) -> Difference | None:
    """The least-squares slope of the values against log₂ x (the change per doubling of x) with its standard
    error, from every seed's point (residual standard error, n − 2 degrees of freedom); where every point is
    one estimate with its own error, the slope weighted by those errors (normal quantile). None with fewer
    than 3 points or fewer than 2 distinct x; x must be > 0."""
    points = [(x, m) for x, m in zip(xs, measured) if m is not None]
    if any(x <= 0 for x, _ in points):
        raise ValueError("slope: a trend is fitted over log x and needs x > 0 (leave β = 0 out).")
    if len({x for x, _ in points}) < 2:
        return None
    if points and all(m.error is not None and m.n == 1 and m.error > 0 for _, m in points):
        if len(points) < 3:
            return None
        x = np.log2([p[0] for p in points])
        y = np.array([m.mean for _, m in points])
        w = 1.0 / np.array([m.error ** 2 for _, m in points])
        x_bar = np.sum(w * x) / np.sum(w)
        sxx = np.sum(w * (x - x_bar) ** 2)
        b = np.sum(w * (x - x_bar) * y) / sxx
        return Difference(float(b), float(np.sqrt(1.0 / sxx)), np.inf, "weighted slope")
    x = np.array([np.log2(px) for px, m in points for _ in m.values])
    y = np.array([v for _, m in points for v in m.values])
    if len(x) < 3:
        return None
    x_bar = x.mean()
    sxx = np.sum((x - x_bar) ** 2)
    b = np.sum((x - x_bar) * (y - y.mean())) / sxx
    residuals = y - y.mean() - b * (x - x_bar)
    dof = len(x) - 2
    se = float(np.sqrt(np.sum(residuals ** 2) / dof / sxx)) if dof > 0 else None
    seeds = min(m.n for _, m in points)  # seeds a point (the fewest, where a point lost one)
    return Difference(float(b), se, float(dof) if dof > 0 else np.inf, "slope", seeds, len({x for x, _ in points}))


def direction(difference: Difference | None, sign: int) -> str:
    """The verdict on "the estimate has the sign of ``sign``" (−1: lower, falls; +1: higher, rises)."""
    if difference is None or difference.interval is None:
        return INCONCLUSIVE
    low, high = difference.interval
    if sign * low > 0 and sign * high > 0:
        return HOLDS
    if sign * low < 0 and sign * high < 0:
        return FAILS
    return INCONCLUSIVE


def below_sesoi(difference: Difference | None, sign: int, sesoi: float) -> bool:
    """Whether the 95 % interval excludes an effect of size ``sesoi`` in the claimed direction (``sign`` −1: the
    claim says lower, so the interval's lower end lies above −sesoi; +1: its upper end below +sesoi)."""
    if difference is None or difference.interval is None:
        return False
    low, high = difference.interval
    return sign * (low if sign < 0 else high) < sesoi


def within(difference: Difference | None, tolerance: float, centre: float = 0.0) -> str:
    """The verdict on "the estimate lies within ``centre`` ± ``tolerance``": holds where the whole interval
    does, fails where the whole interval lies outside it, inconclusive otherwise."""
    if difference is None or difference.interval is None:
        return INCONCLUSIVE
    low, high = (bound - centre for bound in difference.interval)
    if -tolerance <= low and high <= tolerance:
        return HOLDS
    if low > tolerance or high < -tolerance:
        return FAILS
    return INCONCLUSIVE


def not_worse(difference: Difference | None, margin: float) -> str:
    """The verdict on a non-inferiority claim, "comparable or better": ``difference`` is the claimed method's
    error minus the other's; holds where the whole 95 % interval lies below ``margin`` (worse by less than the
    margin, if at all), fails where it lies wholly above it, inconclusive otherwise."""
    if difference is None or difference.interval is None:
        return INCONCLUSIVE
    low, high = difference.interval
    if high < margin:
        return HOLDS
    if low > margin:
        return FAILS
    return INCONCLUSIVE


def every(verdicts: Sequence[str]) -> str:
    """All of several comparisons: holds where all hold, fails where any fails, else inconclusive."""
    if not verdicts:
        return INCONCLUSIVE
    if FAILS in verdicts:
        return FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def tally(verdicts: Iterable[str | None]) -> dict[str, int]:
    """How many claims hold, fail, are inconclusive and are not testable here (None is left out)."""
    verdicts = [v for v in verdicts if v is not None]
    return {verdict: verdicts.count(verdict) for verdict in VERDICTS}
