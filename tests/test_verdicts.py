"""The verdict rule: holds / fails / inconclusive by the seeds' spread, on hand-computed cases."""
import math

import pytest

from infodropout.paper.verdicts import (
    Measured, compare, difference, dip, estimate, every, from_bool, lower, over_seeds, rank_correlation, tally,
    trend,
)


def test_measured_gives_the_mean_and_the_sample_standard_deviation():
    measured = over_seeds([1.0, 2.0, 3.0, None, float("nan")])
    assert measured.values == (1.0, 2.0, 3.0)
    assert measured.mean == 2.0 and measured.std == pytest.approx(1.0)  # n − 1
    assert str(measured) == "2.00 ± 1.00"
    assert over_seeds([5.0]).std is None and str(over_seeds([5.0])) == "5.00"
    assert over_seeds([None]) is None
    assert estimate(0.5, 0.1).std == 0.1  # an estimator's standard error stands for the spread


def test_a_difference_counts_only_beyond_the_spread_of_the_two_means():
    a, b = Measured((1.0, 2.0, 3.0)), Measured((4.0, 5.0, 6.0))
    d, spread = difference(a, b)
    assert d == -3.0 and spread == pytest.approx(math.sqrt(2))
    assert lower(a, b) == "holds" and lower(b, a) == "fails"
    close = Measured((3.5, 4.5, 5.5))  # 2.5 above a, beyond the spread √2
    assert lower(a, close) == "holds"
    near = Measured((2.0, 3.0, 4.0))  # 1.0 above a, inside the spread √2
    assert lower(a, near) == "inconclusive" and lower(near, a) == "inconclusive"
    # One seed: no spread is known, however large the difference.
    assert lower(Measured((1.0,)), Measured((100.0,))) == "inconclusive"
    assert compare(None, b, -1) == "inconclusive"


def test_every_and_from_bool():
    assert every(["holds", "holds"]) == "holds"
    assert every(["holds", "inconclusive"]) == "inconclusive"
    assert every(["holds", "fails", "inconclusive"]) == "fails"
    assert every([]) == "inconclusive"
    assert from_bool(True) == "holds" and from_bool(False) == "fails" and from_bool(None) is None
    assert tally(["holds", "fails", None, "holds"]) == {"holds": 2, "fails": 1, "inconclusive": 0}


def test_trend_reads_the_direction_from_the_ranks_and_the_size_from_the_ends():
    xs = [0.1, 0.3, 1.0]
    rising = [Measured((v - 0.5, v, v + 0.5)) for v in (1.0, 2.0, 4.0)]
    assert trend(xs, rising, +1)[0] == "holds"
    assert trend(xs, rising, -1)[0] == "fails"
    verdict, text = trend(xs, rising, +1)
    assert "ρ = +1.00" in text and "last − first: +3.00 (spread 0.71)" in text
    flat = [Measured((v - 2, v, v + 2)) for v in (1.0, 2.0, 2.5)]  # rises by 1.5, spread 2.83
    assert trend(xs, flat, +1)[0] == "inconclusive"
    assert trend(xs, [Measured((1.0,)), Measured((2.0,)), Measured((3.0,))], +1)[0] == "inconclusive"
    assert trend(xs[:2], rising[:2], +1)[0] == "inconclusive"  # fewer than 3 points


def test_dip_holds_only_for_a_minimum_inside_the_range_beyond_the_spread():
    xs = [0.1, 0.3, 1.0, 3.0]

    def curve(*means):
        return [Measured((m - 0.5, m, m + 0.5)) for m in means]

    assert dip(xs, curve(5.0, 3.0, 3.5, 6.0))[0] == "holds"
    assert dip(xs, curve(3.0, 5.0, 6.0, 8.0))[0] == "fails"  # monotone: lowest at the smallest x
    assert dip(xs, curve(3.2, 3.0, 3.5, 6.0))[0] == "inconclusive"  # the first point is inside the spread
    assert dip(xs, curve(3.0, 3.2, 6.0, 8.0))[0] == "inconclusive"


def test_rank_correlation():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 25, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert rank_correlation([1, 2], [1.0, 2.0]) is None  # no trend from two points
    assert rank_correlation([1, 2, 3], [1.0, 1.0, 1.0]) is None
    assert rank_correlation([1, 2, 3, 4], [1.0, None, 2.0, 3.0]) == pytest.approx(1.0)
