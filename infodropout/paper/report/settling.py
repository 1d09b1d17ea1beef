"""What would settle the paper's claims a reproduction left undecided, and about what it would cost.

A claim stays undecided for one of three reasons, each with its own remedy:

- a step it reads has not run with the plan's current command: running it (its expected time);
- it is inconclusive: more seeds. The seeds each undecided comparison would need for an effect of the observed
  size (95 % two-sided, 80 % power, the spread between seeds as observed: :meth:`Difference.seeds_for`), and the
  time of the steps it reads scaled by the seeds added (a sweep's time grows with its seeds);
- a precondition is not met: a run that meets it, which its reason names; a claim whose precondition the plan's
  runs at this scale are not made to meet says what would (its option ``settled_by``: what, and its cost, a text
  or ``(steps, factor)``: that many times the steps' expected time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from infodropout.paper.report.claims import PAPER, Judgement
from infodropout.paper.report.page import duration
from infodropout.paper.report.plans import Plan
from infodropout.paper.report.verdicts import INCONCLUSIVE, MOST_SEEDS, NOT_TESTABLE


def more_seeds(undecided: Iterable) -> tuple[int, int | None] | None:
    """(seeds now, seeds needed) to decide every undecided comparison over seeds at its observed size: the fewest
    seeds any has now and the most any needs (None: more than :data:`MOST_SEEDS`, or an effect of 0); None where
    no undecided comparison is over seeds (an estimator's own error, or no estimate)."""
    over_seeds = [d for d in undecided if d is not None and d.seeds >= 2 and d.interval is not None]
    if not over_seeds:
        return None
    needed = [d.seeds_for(d.value) for d in over_seeds]
    now = min(d.seeds for d in over_seeds)
    return now, None if None in needed else max(max(needed), now)


def at_most(seconds: float | None) -> str:
    """A pending step's expected time, an upper bound since an extended sweep keeps the runs it has."""
    return "not sized" if seconds is None else f"at most about {duration(seconds, to_minute=True)}"


def _named(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def what_settles(judgement: Judgement, plan: Plan, pending: Sequence[str]) -> tuple[str, str]:
    """(what would settle the claim, its cost on 2 AVX2 cores) for an undecided claim."""
    # A precondition the plan's runs are not made to meet: no run at this scale can (a text), or runs of a step
    # changed as it says ((steps, factor)), once that step has run as planned.
    remedy = judgement.claim.options.get("settled_by") if judgement.verdict == NOT_TESTABLE else None
    if remedy and isinstance(remedy[1], str):
        return remedy
    waiting = [name for name in judgement.read if name in pending]
    if remedy and not waiting:
        what, (steps, factor) = remedy
        seconds = plan.expected_seconds(steps)
        if seconds is None:
            return what, "not sized"
        return what, f"about {duration(factor * seconds, to_minute=True)} ({factor:g} times {_named(steps)})"
    if waiting:
        seconds = plan.expected_seconds(waiting)
        cost = at_most(seconds) + ("" if seconds is None else
                                   f" (the whole step{'s' * (len(waiting) > 1)}; runs already done are kept)")
        return f"running {_named(waiting)} with the plan's current command", cost
    if judgement.verdict == NOT_TESTABLE:
        return "runs that meet the precondition its reason names", "–"
    seeds = more_seeds(judgement.undecided)
    if seeds is None:
        return "a tighter estimate (its error is the estimator's own, not the seeds')", "–"
    now, needed = seeds
    if needed is None:
        return (f"more than {MOST_SEEDS} seeds: the observed effect is too small against the spread between seeds "
                "to be decided by any plan of this size", "–")
    seconds = plan.expected_seconds(judgement.read)
    if seconds is None:
        return f"about {needed} seeds instead of {now}", "not sized"
    extra = seconds * (needed - now) / now
    return (f"about {needed} seeds instead of {now} (the observed effect, the spread as observed)",
            f"about {duration(extra, to_minute=True)} more of {_named(judgement.read)}")


def settling_rows(judgements: Sequence[Judgement], plan: Plan, pending: Sequence[str]) -> list[list[str]]:
    """One row per undecided claim of the paper: its id, verdict, what would settle it and what that costs."""
    return [[j.claim.id, j.verdict, *what_settles(j, plan, pending)] for j in judgements
            if j.claim.source == PAPER and j.verdict in (INCONCLUSIVE, NOT_TESTABLE)]
