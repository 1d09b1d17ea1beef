"""Whether a claim of the paper holds, fails or cannot be told from the noise of our runs.

Every comparison in the report is between numbers measured over seeds. A difference counts only where it is
larger than the seeds' spread: for two means of n_a and n_b seeds with sample standard deviations s_a and
s_b (n − 1), the spread of their difference is sqrt(s_a² + s_b²), the standard deviation of the difference of
two single runs. A claim

- **holds** where the difference lies in the claimed direction and exceeds its spread,
- **fails** where it lies in the opposite direction and exceeds its spread,
- is **inconclusive** otherwise, and always where a side has a single seed (no spread is known).

A trend over a swept value (β, a share of filters) is read from the means: its direction from Spearman's rank
correlation of the means with the swept value, its size from the change between the first and last values,
judged as a difference above. A claim made of several comparisons ("at every width") holds where all hold,
fails where any fails, and is inconclusive otherwise. A check against a fixed tolerance on one run (a
histogram against its prior, a bound against the paper's) is not a comparison of seeds; it holds or fails as
its tolerance says (:func:`from_bool`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)

RULE = ("A claim **holds** where the difference it makes lies in the claimed direction and is larger than the "
        "seeds' spread (the spread of a difference of two means: √(s₁² + s₂²), s the sample standard deviation "
        "over seeds), **fails** where it is that large in the opposite direction, and is **inconclusive** "
        "otherwise, and always where a side was measured with one seed. A trend over β or the share of filters "
        "takes its direction from the rank correlation ρ of the means and its size from the change between the "
        "first and last values. A claim over several widths or shares holds where all hold and fails where any "
        "fails. Checks of one run against a stated tolerance hold or fail by that tolerance.")


@dataclass(frozen=True)
class Measured:
    """A quantity measured once per seed."""

    values: tuple[float, ...]
    # An estimator's own standard error (over evaluation batches), where the quantity has one: it then stands
    # for the spread of a single measurement.
    error: float | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float | None:
        """The sample standard deviation over seeds (n − 1), or the estimator's standard error; None for one
        seed of a quantity without one."""
        if self.error is not None:
            return self.error
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else None

    def text(self, digits: int = 2) -> str:
        """``mean ± spread`` (the mean alone where there is no spread) with ``digits`` decimals."""
        return f"{self.mean:.{digits}f}" + ("" if self.std is None else f" ± {self.std:.{digits}f}")

    def __str__(self) -> str:
        return self.text()


def over_seeds(values: Iterable[float | None]) -> Measured | None:
    """The finite values as one :class:`Measured`; None if there is none."""
    kept = tuple(float(v) for v in values if v is not None and np.isfinite(v))
    return Measured(kept) if kept else None


def estimate(value: float | None, stderr: float | None) -> Measured | None:
    """One estimate with its standard error (a MINE or NDM bound)."""
    return None if value is None or not np.isfinite(value) else Measured((float(value),), stderr)


def difference(a: Measured, b: Measured) -> tuple[float, float | None]:
    """mean(a) − mean(b) and the spread of that difference (None where a side has one seed)."""
    spread = None if a.std is None or b.std is None else float(np.hypot(a.std, b.std))
    return a.mean - b.mean, spread


def with_error(d: float, spread: float | None) -> str:
    """A difference as the report prints it: ``+1.20 (spread 0.40)``."""
    return f"{d:+.2f}" + ("" if spread is None else f" (spread {spread:.2f})")


def compare(a: Measured | None, b: Measured | None, direction: int) -> str:
    """The verdict on "a − b has the sign of ``direction``" (−1: a is lower than b; +1: higher)."""
    if a is None or b is None:
        return INCONCLUSIVE
    d, spread = difference(a, b)
    if spread is None or abs(d) <= spread:
        return INCONCLUSIVE
    return HOLDS if d * direction > 0 else FAILS


def lower(a: Measured | None, b: Measured | None) -> str:
    """The verdict on "a is lower than b" (an error, a bound's distance)."""
    return compare(a, b, -1)


def every(verdicts: Sequence[str]) -> str:
    """All of several comparisons: holds where all hold, fails where any fails, else inconclusive."""
    if not verdicts:
        return INCONCLUSIVE
    if FAILS in verdicts:
        return FAILS
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def from_bool(holds: bool | None) -> str | None:
    """A check against a stated tolerance; None (not checked) stays None."""
    return None if holds is None else HOLDS if holds else FAILS


def rank_correlation(x: Sequence[float], y: Sequence[float | None]) -> float | None:
    """Spearman's rank correlation of ``y`` with ``x``: +1 for a rising trend, −1 for a falling one; None with
    fewer than 3 points or a constant series, where no trend can be read."""
    pairs = [(a, b) for a, b in zip(x, y) if a is not None and b is not None and np.isfinite(b)]
    if len(pairs) < 3:
        return None
    ranks = [rankdata(column) for column in zip(*pairs)]  # ties share their mean rank
    if np.std(ranks[0]) == 0 or np.std(ranks[1]) == 0:
        return None
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def trend(xs: Sequence[float], measured: Sequence[Measured | None], direction: int) -> tuple[str, str]:
    """The verdict on "the quantity rises (``direction`` +1) or falls (−1) with x", and what was measured:
    the rank correlation of the means and the change from the first x to the last with its spread."""
    points = [(x, m) for x, m in zip(xs, measured) if m is not None]
    if len(points) < 3:
        return INCONCLUSIVE, "fewer than 3 points: no trend can be read"
    points.sort(key=lambda point: point[0])
    rho = rank_correlation([x for x, _ in points], [m.mean for _, m in points])
    d, spread = difference(points[-1][1], points[0][1])
    text = ("ρ = n/a (constant)" if rho is None else f"ρ = {rho:+.2f}") + \
        f"; last − first: {with_error(d, spread)}"
    if rho is None or spread is None or abs(d) <= spread:
        return INCONCLUSIVE, text
    if rho * direction > 0 and d * direction > 0:
        return HOLDS, text
    if rho * direction < 0 and d * direction < 0:
        return FAILS, text
    return INCONCLUSIVE, text


def dip(xs: Sequence[float], measured: Sequence[Measured | None]) -> tuple[str, str]:
    """The verdict on "the quantity first falls with x, then rises" (figure 5's error against β): holds where
    the lowest mean lies inside the range and both ends are above it by more than their spreads; fails where
    the lowest mean is at an end and the next value is above it by more than their spread (a monotone curve);
    inconclusive otherwise."""
    points = sorted(((x, m) for x, m in zip(xs, measured) if m is not None), key=lambda point: point[0])
    if len(points) < 3:
        return INCONCLUSIVE, "fewer than 3 points"
    lowest = min(range(len(points)), key=lambda i: points[i][1].mean)
    x_low, m_low = points[lowest]
    text = f"lowest mean error at x = {x_low} ({m_low})"
    if 0 < lowest < len(points) - 1:
        verdicts = [compare(points[end][1], m_low, +1) for end in (0, -1)]
        text += "; first − lowest: {}, last − lowest: {}".format(
            *(with_error(*difference(points[end][1], m_low)) for end in (0, -1)))
        return (HOLDS if verdicts == [HOLDS, HOLDS] else INCONCLUSIVE), text
    neighbour = points[1] if lowest == 0 else points[-2]
    d, spread = difference(neighbour[1], m_low)
    text += f", at an end of the range; next − lowest: {with_error(d, spread)}"
    return (FAILS if spread is not None and d > spread else INCONCLUSIVE), text


def tally(verdicts: Iterable[str | None]) -> dict[str, int]:
    """How many claims hold, fail and are inconclusive (claims not checked, None, are left out)."""
    verdicts = [v for v in verdicts if v is not None]
    return {verdict: verdicts.count(verdict) for verdict in VERDICTS}
