"""The verdict rule: 95 % confidence intervals from Welch, paired and slope standard errors."""
import math

import numpy as np
import pytest
from scipy import stats

from infodropout.paper.report.verdicts import (
    Difference, Measured, direction, estimate, every, finite, one_sample, over_seeds, paired, slope, tally, welch,
    within,
)


def test_measured_gives_the_mean_the_sample_standard_deviation_and_the_standard_error():
    measured = over_seeds([1.0, 2.0, 3.0, None, float("nan")])
    assert measured.values == (1.0, 2.0, 3.0)
    assert measured.mean == 2.0 and measured.std == pytest.approx(1.0)  # n − 1
    assert measured.stderr == pytest.approx(1 / math.sqrt(3)) and measured.dof == 2
    assert str(measured) == "2.00 ± 1.00"
    assert over_seeds([5.0]).stderr is None and str(over_seeds([5.0])) == "5.00"
    assert over_seeds([None, float("inf")]) is None
    assert estimate(0.5, 0.1).stderr == 0.1 and estimate(0.5, 0.1).dof == math.inf
    assert estimate(float("nan"), 0.1) is None and estimate(0.5, float("nan")) is None
    assert not finite(None) and not finite(float("nan")) and finite(np.float32(1.0)) and not finite(True)


def test_welch_standard_error_and_degrees_of_freedom_by_hand():
    a, b = Measured((1.0, 2.0, 3.0)), Measured((4.0, 6.0, 8.0, 10.0))
    d = welch(a, b)
    va, vb = 1.0 / 3, (20 / 3) / 4  # s²/n
    assert d.value == pytest.approx(2.0 - 7.0) and d.stderr == pytest.approx(math.sqrt(va + vb))
    assert d.dof == pytest.approx((va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 3))
    low, high = d.interval
    assert high - d.value == pytest.approx(stats.t.ppf(0.975, d.dof) * d.stderr)
    # scipy's Welch test gives the same t statistic.
    assert d.value / d.stderr == pytest.approx(stats.ttest_ind(a.values, b.values, equal_var=False).statistic)
    assert direction(d, -1) == "holds" and direction(d, +1) == "fails"
    assert welch(Measured((1.0,)), Measured((100.0, 101.0))).interval is None  # one seed: no standard error
    assert direction(welch(Measured((1.0,)), Measured((100.0, 101.0))), -1) == "inconclusive"
    assert direction(None, -1) == "inconclusive"


def test_paired_differences_use_the_seeds_both_sides_have():
    d = paired({0: 1.0, 1: 2.0, 2: 4.0, 3: 9.0}, {0: 0.0, 1: 0.5, 2: 2.0})
    diffs = [1.0, 1.5, 2.0]
    assert d.kind == "paired" and d.value == pytest.approx(1.5) and d.dof == 2
    assert d.stderr == pytest.approx(np.std(diffs, ddof=1) / math.sqrt(3))
    assert "paired" in d.text()
    assert paired({0: 1.0}, {1: 2.0}) is None and paired({0: 1.0}, {0: 2.0}).interval is None


def effect_verdict(seeds: int, true_difference: float, rng) -> str:
    a = Measured(tuple(rng.normal(true_difference, 0.5, seeds)))
    b = Measured(tuple(rng.normal(0.0, 0.5, seeds)))
    return direction(welch(a, b), +1)


def test_a_small_effect_is_inconclusive_with_3_seeds_and_resolved_with_12():
    # A true difference of 0.5 with noise sd 0.5 on each run (fixed draws): the standard error shrinks with
    # the seeds, so more seeds resolve the same effect, which the old rule (the seeds' spread) never did.
    assert effect_verdict(3, 0.5, np.random.default_rng(1)) == "inconclusive"
    assert effect_verdict(12, 0.5, np.random.default_rng(1)) == "holds"
    # Over many draws: with 3 seeds the effect mostly reads inconclusive; with 12 it mostly holds; never fails.
    rng = np.random.default_rng(0)
    few = [effect_verdict(3, 0.5, rng) for _ in range(200)]
    many = [effect_verdict(12, 0.5, rng) for _ in range(200)]
    assert few.count("inconclusive") > 150 and many.count("holds") > 100
    assert few.count("fails") + many.count("fails") <= 2


def test_a_clear_effect_holds_and_the_opposite_fails():
    rng = np.random.default_rng(1)
    assert effect_verdict(3, 5.0, rng) == "holds"
    assert effect_verdict(3, -5.0, rng) == "fails"
    # With no effect, a 95 % interval wrongly holds or fails about 5 % of the time.
    wrong = [effect_verdict(5, 0.0, rng) for _ in range(400)]
    assert 0.01 < (wrong.count("holds") + wrong.count("fails")) / 400 < 0.10


def test_the_slope_over_log_x_matches_a_least_squares_fit_by_hand():
    xs = [0.1, 0.2, 0.4, 0.8]
    measured = [Measured((1.0 + 2.0 * k, 1.2 + 2.0 * k, 0.8 + 2.0 * k)) for k in range(4)]  # +2 per doubling
    s = slope(xs, measured)
    assert s.value == pytest.approx(2.0) and s.dof == 10 and s.kind == "slope"
    fit = stats.linregress(np.repeat(np.log2(xs), 3), [v for m in measured for v in m.values])
    assert s.stderr == pytest.approx(fit.stderr)
    assert direction(s, +1) == "holds" and direction(s, -1) == "fails"
    with pytest.raises(ValueError, match="x > 0"):
        slope([0.0, 0.1, 0.2], measured[:3])
    assert slope(xs[:1], measured[:1]) is None


def test_a_weak_trend_is_inconclusive_with_few_seeds_and_holds_with_many():
    xs = [0.01, 0.05, 0.25, 0.5]

    def verdict(seeds, rng):
        # Falls by 0.2 per doubling of β; each run has noise sd 1.
        return direction(slope(xs, [Measured(tuple(-0.2 * math.log2(x) + rng.normal(0, 1, seeds))) for x in xs]), -1)

    assert verdict(2, np.random.default_rng(3)) == "inconclusive"
    assert verdict(40, np.random.default_rng(3)) == "holds"
    assert direction(slope(xs, [Measured(tuple(0.5 * math.log2(x) + np.array([0, 0.1, -0.1]))) for x in xs]),
                     -1) == "fails"


def test_a_weighted_slope_uses_the_estimators_own_errors():
    xs = [1.0, 2.0, 4.0]
    s = slope(xs, [estimate(v, 0.1) for v in (3.0, 2.0, 1.0)])
    assert s.kind == "weighted slope" and s.value == pytest.approx(-1.0)
    assert s.stderr == pytest.approx(0.1 / math.sqrt(2))  # σ / √Σ(x − x̄)², x = 0, 1, 2
    assert direction(s, -1) == "holds"
    assert direction(slope(xs, [estimate(v, 5.0) for v in (3.0, 2.0, 1.0)]), -1) == "inconclusive"


def test_equivalence_within_a_tolerance():
    tight = Difference(0.3, 0.2, 10)  # CI about [−0.15, 0.75]
    assert within(tight, 1.5) == "holds"
    assert within(Difference(3.0, 0.2, 10), 1.5) == "fails"
    assert within(Difference(1.4, 0.5, 10), 1.5) == "inconclusive"
    assert within(Difference(1.4, None), 1.5) == "inconclusive"
    assert one_sample(Measured((-99.0, -99.4, -98.6)), -98.8).value == pytest.approx(-0.2)


def test_every_and_tally():
    assert every(["holds", "holds"]) == "holds"
    assert every(["holds", "inconclusive"]) == "inconclusive"
    assert every(["holds", "fails", "inconclusive"]) == "fails"
    assert every([]) == "inconclusive"
    assert tally(["holds", "fails", None, "holds", "not testable here"]) == {
        "holds": 2, "fails": 1, "inconclusive": 0, "not testable here": 1}


def test_the_smallest_detectable_effect_is_the_two_quantiles_times_the_standard_error():
    from scipy import stats

    from infodropout.paper.report.verdicts import over_seeds, welch

    d = welch(over_seeds([1.0, 2.0, 3.0]), over_seeds([1.5, 2.5, 3.5]))  # SE √(2/3), 4 degrees of freedom
    expected = (stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * (2 / 3) ** 0.5
    assert abs(d.detectable - expected) < 1e-9
    assert "smallest detectable ±3.04 (95 %, 80 % power, 3 seeds" in d.power_text()
    # More seeds shrink it: the same spread over 64 seeds a side detects the observed 0.5.
    assert d.seeds_for(0.5) == 64 and d.seeds_for(5.0) == 3


def test_two_seeds_cannot_make_a_clear_effect_significant_and_the_reason_says_so():
    from infodropout.paper.report.verdicts import INCONCLUSIVE, direction, one_sample, over_seeds

    d = one_sample(over_seeds([0.357, 0.489]))  # 6.4 standard errors, but t(1) = 12.7
    assert direction(d, +1) == INCONCLUSIVE
    text = d.power_text(3)
    assert "t₀.₉₇₅(1) = 12.7" in text and "with so few seeds cannot be significant" in text
    assert "needs about 3 seeds" in text
    # A small effect with a wide spread is not a matter of few seeds: no such sentence.
    small = one_sample(over_seeds([-1.0, 0.1, 1.2]))
    assert "cannot be significant" not in small.power_text()
