"""The verdict rule tested by simulation, through the same code the report uses: per-seed data drawn with a known
effect (none, in the claimed direction, opposite) must give "holds" or "fails" about 5 % of the time when there is
no effect (2.5 % each way, the two-sided 95 % interval), and the effect's sign when it is large.

Each rate is over 2,000 simulated claims, whose binomial standard error at 2.5 % is 0.35 points: the tolerances
below are about four of those on the high side."""

import numpy as np
import pytest

from infodropout.paper.report.verdicts import (FAILS, HOLDS, INCONCLUSIVE, Measured, direction, every, paired, slope,
                                        welch, within)

TRIALS = 2000


def rates(verdicts: list[str]) -> dict[str, float]:
    return {v: verdicts.count(v) / len(verdicts) for v in (HOLDS, FAILS, INCONCLUSIVE)}


def welch_verdicts(effect: float, seeds: int, rng, sign: int = 1) -> list[str]:
    out = []
    for _ in range(TRIALS):
        a, b = rng.normal(effect, 1.0, seeds), rng.normal(0.0, 1.0, seeds)
        out.append(direction(welch(Measured(tuple(a)), Measured(tuple(b))), sign))
    return out


@pytest.mark.parametrize("seeds", [3, 5])
def test_welch_with_no_effect_holds_and_fails_each_about_2_5_percent(seeds):
    # Welch–Satterthwaite's degrees of freedom make the interval a little conservative at few seeds: the rate may
    # fall below the nominal one, never far above it.
    r = rates(welch_verdicts(0.0, seeds, np.random.default_rng(seeds)))
    assert 0.010 <= r[HOLDS] <= 0.040 and 0.010 <= r[FAILS] <= 0.040, r


@pytest.mark.parametrize("seeds", [3, 5])
def test_paired_with_no_effect_holds_and_fails_each_about_2_5_percent(seeds):
    rng = np.random.default_rng(10 + seeds)
    verdicts = []
    for _ in range(TRIALS):
        shared = rng.normal(0.0, 3.0, seeds)  # what the same seed gives both sides: cancels in the pairs
        a = dict(enumerate(shared + rng.normal(0.0, 1.0, seeds)))
        b = dict(enumerate(shared + rng.normal(0.0, 1.0, seeds)))
        verdicts.append(direction(paired(a, b), -1))
    r = rates(verdicts)
    assert 0.012 <= r[HOLDS] <= 0.040 and 0.012 <= r[FAILS] <= 0.040, r


def test_a_trend_with_no_slope_holds_and_fails_each_about_2_5_percent():
    rng = np.random.default_rng(7)
    betas = [0.01, 0.03, 0.1, 0.3, 1.0]
    verdicts = [direction(slope(betas, [Measured(tuple(rng.normal(0.0, 1.0, 3))) for _ in betas]), -1)
                for _ in range(TRIALS)]
    r = rates(verdicts)
    assert 0.012 <= r[HOLDS] <= 0.040 and 0.012 <= r[FAILS] <= 0.040, r


@pytest.mark.parametrize("effect, expected", [(5.0, HOLDS), (-5.0, FAILS)])
def test_a_large_effect_is_found_with_its_sign(effect, expected):
    # Five standard deviations of one seed, three seeds a side: the interval excludes 0 nearly always, and never
    # on the wrong side. (At three standard deviations it does so only about 68 % of the time: Welch's interval
    # at 3 seeds a side is wide, which is why the plan asks for 5 seeds where an effect is near its error.)
    r = rates(welch_verdicts(effect, 3, np.random.default_rng(1)))
    assert r[expected] >= 0.90 and r[FAILS if expected == HOLDS else HOLDS] == 0.0, r


def test_equivalence_within_a_tolerance_holds_when_the_difference_is_none_and_fails_when_far_outside():
    rng = np.random.default_rng(2)
    close, far = [], []
    for _ in range(TRIALS // 4):
        b = Measured(tuple(rng.normal(0.0, 0.3, 5)))
        close.append(within(welch(Measured(tuple(rng.normal(0.0, 0.3, 5))), b), 1.5))
        far.append(within(welch(Measured(tuple(rng.normal(4.0, 0.3, 5))), b), 1.5))
    assert rates(close)[HOLDS] >= 0.95 and rates(close)[FAILS] == 0.0
    assert rates(far)[FAILS] >= 0.95 and rates(far)[HOLDS] == 0.0


def test_a_claim_over_several_comparisons_fails_more_often_than_one_when_there_is_no_effect():
    # "Fails where any fails": with k independent comparisons and no effect, a false "fails" comes at about
    # 1 − 0.975^k (12 % at k = 5), a false "holds" at about 0.025^k. What the report's rule does, stated here.
    rng = np.random.default_rng(3)
    verdicts = [every([welch_verdicts_once(rng) for _ in range(5)]) for _ in range(TRIALS // 2)]
    r = rates(verdicts)
    assert 0.06 <= r[FAILS] <= 0.18 and r[HOLDS] <= 0.002, r


def welch_verdicts_once(rng) -> str:
    return direction(welch(Measured(tuple(rng.normal(0, 1, 5))), Measured(tuple(rng.normal(0, 1, 5)))), 1)
