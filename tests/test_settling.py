"""What would settle an undecided claim: the pending step, else the seeds an effect of the observed size needs and
the time of the steps it reads scaled by them, else what its precondition needs."""

import pytest

from infodropout.paper.report.claims import CLAIMS, PAPER, Claim, Judgement
from infodropout.paper.reproduction.plans import Plan, Step
from infodropout.paper.report.settling import more_seeds, settling_rows, what_settles
from infodropout.paper.report.verdicts import HOLDS, INCONCLUSIVE, MOST_SEEDS, NOT_TESTABLE, Difference

PLAN = Plan("medium", (Step("sweep", "cifar", "sweep", expected_s=3600.0), Step("other", "cifar", "sweep")))


def _claim(steps=("sweep",), **options) -> Claim:
    return Claim("x", "Figure 5", "a claim", PAPER, (), "", lambda report: (HOLDS, ""), steps, options)


def _judgement(verdict, undecided=(), steps=("sweep",), **options) -> Judgement:
    return Judgement(_claim(steps, **options), verdict, "", (), "why", tuple(undecided), steps)


def test_seeds_needed_grow_as_the_effect_shrinks_against_its_error():
    # 3 seeds a side, paired: the effect at 2 standard errors needs more seeds than at 4; an effect of 0 cannot
    # be decided at any number of seeds.
    small = Difference(2.0, 1.0, 2, "paired", 3)
    large = Difference(4.0, 1.0, 2, "paired", 3)
    assert more_seeds([large])[1] < more_seeds([small])[1]
    assert more_seeds([Difference(0.0, 1.0, 2, "paired", 3)]) == (3, None)
    # The seeds found detect the effect: the smallest detectable effect at that many seeds is within it.
    now, needed = more_seeds([small])
    stderr, dof = small.stderr_with(needed)
    assert Difference(2.0, stderr, dof, "paired", needed).detectable <= 2.0
    assert Difference(2.0, *small.stderr_with(needed - 1), "paired", needed - 1).detectable > 2.0


def test_the_claim_needs_the_most_any_comparison_needs():
    small, large = Difference(2.0, 1.0, 2, "paired", 3), Difference(4.0, 1.0, 2, "paired", 3)
    assert more_seeds([small, large]) == more_seeds([small])
    # An estimator's own error (no seeds) or no estimate: more seeds would not settle it.
    assert more_seeds([None, Difference(1.0, 0.5)]) is None


def test_inconclusive_costs_the_runs_its_comparisons_read_not_the_whole_steps():
    # The sweep's hour holds 30 runs (2 min each); the comparison reads 2 of them a seed (its two sides).
    difference = Difference(2.0, 1.0, 2, "paired", 3)
    needed = more_seeds([difference])[1]
    what, cost = what_settles(_judgement(INCONCLUSIVE, [difference]), PLAN, pending=[], runs={"sweep": 30})
    assert f"about {needed} seeds instead of 3" in what
    hours, minutes = divmod(2 * 2 * (needed - 3), 60)
    assert cost.startswith(f"about {hours} h {minutes:02d} min more" if hours else f"about {minutes} min more")
    assert f"2 runs a seed × {needed - 3} seeds, about 2 min 00 s a run of `sweep`" in cost
    # Both layers of one run (one group a seed) cost half as much; a step whose runs are not known is not sized.
    one_run = Difference(2.0, 1.0, 2, "paired", 3, groups=1)
    assert f"1 run a seed × {needed - 3} seeds" in what_settles(_judgement(INCONCLUSIVE, [one_run]), PLAN, [],
                                                                 {"sweep": 30})[1]
    assert what_settles(_judgement(INCONCLUSIVE, [difference]), PLAN, pending=[])[1] == "not sized"


def test_a_pending_step_comes_first_and_a_claim_too_small_to_decide_says_so():
    difference = Difference(2.0, 1.0, 2, "paired", 3)
    what, cost = what_settles(_judgement(INCONCLUSIVE, [difference]), PLAN, pending=["sweep"])
    assert "`sweep`" in what and "1 h 00 min" in cost
    what, cost = what_settles(_judgement(INCONCLUSIVE, [Difference(0.01, 1.0, 2, "paired", 3)]), PLAN, pending=[])
    assert f"more than {MOST_SEEDS} seeds" in what and cost == "–"
    # A step the plan has not sized: the seeds, no invented cost.
    what, cost = what_settles(_judgement(INCONCLUSIVE, [difference], steps=("other",)), PLAN, pending=[])
    assert "seeds instead of 3" in what and cost == "not sized"


def test_a_precondition_no_run_here_can_meet_names_what_would():
    judgement = _judgement(NOT_TESTABLE, settled_by=("the full data", "GPU-days"))
    assert what_settles(judgement, PLAN, pending=["sweep"]) == ("the full data", "GPU-days")
    assert what_settles(_judgement(NOT_TESTABLE), PLAN, pending=[])[1] == "–"
    # A remedy sized as a multiple of a step's expected time: 4 × the sweep's hour; none where the step is unsized.
    longer = _judgement(NOT_TESTABLE, settled_by=("longer runs", (("sweep",), 4.0)))
    assert what_settles(longer, PLAN, pending=[]) == ("longer runs", "about 4 h 00 min (4 times `sweep`)")
    # Until the step has run with the plan's command, running it comes first.
    assert what_settles(longer, PLAN, pending=["sweep"])[0].startswith("running `sweep`")
    unsized = _judgement(NOT_TESTABLE, settled_by=("longer runs", (("other",), 4.0)))
    assert what_settles(unsized, PLAN, pending=[]) == ("longer runs", "not sized")
    # Where the claim is testable, its remedy is not what settles it.
    assert what_settles(_judgement(INCONCLUSIVE, [Difference(2.0, 1.0, 2, "paired", 3)], settled_by=(
        "longer runs", (("sweep",), 4.0))), PLAN, pending=[])[0] != "longer runs"


def test_rows_cover_the_papers_undecided_claims_only():
    judgements = [_judgement(INCONCLUSIVE, [Difference(2.0, 1.0, 2, "paired", 3)]), _judgement(HOLDS)]
    added = Judgement(Claim("y", "Figure 5", "added", "added", (), "", lambda r: (HOLDS, ""), ("sweep",)),
                      INCONCLUSIVE, "", (), "", (), ("sweep",))
    rows = settling_rows([*judgements, added], PLAN, pending=[])
    assert [row[:2] for row in rows] == [["x", INCONCLUSIVE]]


@pytest.mark.parametrize("claim", [c for c in CLAIMS if "settled_by" in c.options], ids=lambda c: c.id)
def test_every_settled_by_is_what_and_cost(claim):
    what, cost = claim.options["settled_by"]
    assert what and cost
    if not isinstance(cost, str):  # a multiple of steps the claim reads
        steps, factor = cost
        assert set(steps) <= set(claim.steps) and factor > 0


def test_a_decided_claim_that_leaves_part_open_names_the_run_that_would_close_it():
    judgement = Judgement(_claim(settled_by=("the sweep again, measuring the rest", (("sweep",), 1.0))), HOLDS, "",
                          (), "why", (), ("sweep",), unsettled="whether it is the noise's")
    assert settling_rows([judgement], PLAN, pending=[]) == [
        ["x", "holds; open: whether it is the noise's", "the sweep again, measuring the rest",
         "about 1 h 00 min (1 times `sweep`)"]]
    # Decided and nothing left open: no row.
    assert settling_rows([_judgement(HOLDS)], PLAN, pending=[]) == []


def test_comparisons_more_seeds_could_decide_are_named_beside_those_none_could():
    near, hopeless = Difference(2.0, 1.0, 2, "paired", 3), Difference(0.01, 1.0, 2, "paired", 3)
    judgement = Judgement(_claim(), INCONCLUSIVE, "", (), "why", (near, hopeless), ("sweep",),
                          comparisons=(("k = 1", near, INCONCLUSIVE), ("k = 2", hopeless, INCONCLUSIVE)))
    needed = near.seeds_for(2.0)
    what, cost = what_settles(judgement, PLAN, pending=[], runs={"sweep": 30})
    assert what.startswith(f"more than {MOST_SEEDS} seeds") and f"(apart: k = 1: about {needed} seeds)" in what
    assert cost.startswith("k = 1: about ") and f"2 runs a seed × {needed - 3} seeds" in cost
