"""What would settle the paper's claims a reproduction left undecided, and about what it would cost.

A claim stays undecided for one of three reasons, each with its own remedy:

- a step it reads has not run with the plan's current command: running it (its expected time);
- it is inconclusive: more seeds. The seeds each undecided comparison would need for an effect of the observed
  size (95 % two-sided, 80 % power, the spread between seeds as observed: :meth:`Difference.seeds_for`), costed
  from the runs the comparisons read (CLAIMS.md): the runs each seed adds (:attr:`Difference.groups` a
  comparison) times the seeds added, at the mean time of a run of the steps read (their expected time over the
  runs their results hold), not the whole steps scaled;
- a precondition is not met: a run that meets it, which its reason names; where a comparison over seeds decides
  the precondition (the probe against an untrained network), the seeds it would need, costed as above; a claim
  whose precondition the plan's runs at this scale are not made to meet says what would (its option
  ``settled_by``: what, and its cost, a text or ``(steps, factor)``: that many times the steps' expected time),
  also where a precondition gated per setting left some settings out (T1's k).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from infodropout.paper.report.claims import PAPER, Judgement
from infodropout.paper.report.page import duration
from infodropout.paper.reproduction.plans import Plan
from infodropout.paper.report.verdicts import INCONCLUSIVE, MOST_SEEDS, NOT_TESTABLE


def more_seeds(undecided: Iterable) -> tuple[int, int | None] | None:
    """(seeds now, seeds needed) to decide every undecided comparison over seeds at its observed size: the fewest
    seeds any has now and the most any needs (None: more than :data:`MOST_SEEDS`, or an effect of 0); None where
    no undecided comparison is over seeds (an estimator's own error, or no estimate)."""
    over_seeds = [d for d in undecided if d is not None and d.seeds >= 2 and d.interval is not None]
    if not over_seeds:
        return None
    needed = [d.seeds_for(d.deciding_effect) for d in over_seeds]
    now = min(d.seeds for d in over_seeds)
    return now, None if None in needed else max(max(needed), now)


def at_most(seconds: float | None) -> str:
    """A pending step's expected time, an upper bound since an extended sweep keeps the runs it has."""
    return "not sized" if seconds is None else f"at most about {duration(seconds, to_minute=True)}"


def _named(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def seconds_a_run(plan: Plan, steps: Sequence[str], runs: Mapping[str, int] | None) -> float | None:
    """The mean expected time of one run of ``steps``: their expected time over the runs their results hold; None
    where either is unknown."""
    seconds = plan.expected_seconds(steps)
    count = sum((runs or {}).get(name, 0) for name in steps)
    return None if seconds is None or not count else seconds / count


def _seeds_cost(plan: Plan, steps: Sequence[str], runs: Mapping[str, int] | None, groups: int, added: int) -> str:
    """The time ``added`` seeds take, each adding ``groups`` runs of ``steps``."""
    each = seconds_a_run(plan, steps, runs)
    if each is None:
        return "not sized"
    return (f"about {duration(each * groups * added, to_minute=True)} more ({groups} run{'s' * (groups > 1)} a seed "
            f"× {added} seeds, about {duration(each)} a run of {_named(steps)})")


def _more_seeds(judgement: Judgement, plan: Plan, runs: Mapping[str, int] | None) -> tuple[str, str]:
    """What more seeds would do for an inconclusive claim's undecided comparisons, and their cost."""
    seeds = more_seeds(judgement.undecided)
    if seeds is None:
        return "a tighter estimate (its error is the estimator's own, not the seeds')", "–"
    now, needed = seeds
    if needed is None:
        # Name the comparisons more seeds could decide apart from those no plan of this size could (T1's k = 1
        # beside its k = 2).
        each = [(label, d, d.seeds_for(d.deciding_effect)) for label, d, v in judgement.comparisons
                if v == INCONCLUSIVE and d is not None and d.seeds >= 2 and d.interval is not None]
        apart = [(label, n, _seeds_cost(plan, judgement.read, runs, d.groups, n - d.seeds))
                 for label, d, n in each if n is not None and n > d.seeds]
        what = (f"more than {MOST_SEEDS} seeds: the observed effect is too small against the spread between seeds "
                "to be decided by any plan of this size")
        if not apart:
            return what, "–"
        return (what + " (apart: " + "; ".join(f"{label}: about {n} seeds" for label, n, _ in apart) + ")",
                "; ".join(f"{label}: {cost}" for label, _, cost in apart))
    groups = sum(d.groups for d in judgement.undecided if d is not None and d.seeds >= 2)
    return (f"about {needed} seeds instead of {now} (the observed effect, the spread as observed)",
            _seeds_cost(plan, judgement.read, runs, groups, needed - now))


def _gate_seeds(judgement: Judgement, plan: Plan, runs: Mapping[str, int] | None) -> tuple[str, str] | None:
    """Where an unmet precondition is decided by a comparison over seeds, the seeds it would need and their cost."""
    condition = next((c for c in judgement.conditions if c.met is False and c.estimate is not None), None)
    if condition is None or condition.estimate.seeds < 2:
        return None
    d = condition.estimate
    needed = d.seeds_for(d.deciding_effect)
    if needed is None:
        return (f"its precondition {condition.name} needs more than {MOST_SEEDS} seeds at the spread observed: "
                "no plan of this size meets it", "–")
    return (f"about {needed} seeds instead of {d.seeds} for its precondition {condition.name} (the comparison in its "
            "reason, at the observed size and spread)", _seeds_cost(plan, judgement.read[:1], runs, d.groups,
                                                                    needed - d.seeds))


def what_settles(judgement: Judgement, plan: Plan, pending: Sequence[str],
                 runs: Mapping[str, int] | None = None) -> tuple[str, str]:
    """(what would settle the claim, its cost on 2 AVX2 cores) for an undecided claim; ``runs``: how many runs
    each step's results hold, to cost more seeds from the runs the claim reads."""
    left_out = [k for c in judgement.conditions for k in c.left_out]
    # A precondition the plan's runs are not made to meet: no run at this scale can (a text), or runs of a step
    # changed as it says ((steps, factor)), once that step has run as planned; also for the settings it left out.
    remedy = judgement.claim.options.get("settled_by") if judgement.verdict == NOT_TESTABLE or left_out else None
    if remedy and isinstance(remedy[1], str):
        return remedy
    waiting = [name for name in judgement.read if name in pending]
    if remedy and not waiting:
        what, cost = _remedy(judgement, plan)
        if not left_out or judgement.verdict == NOT_TESTABLE:
            return what, cost
        seeds, seeds_cost = _more_seeds(judgement, plan, runs)
        return f"for {', '.join(left_out)}, left out: {what}; for those judged: {seeds}", f"{cost}; {seeds_cost}"
    if waiting:
        seconds = plan.expected_seconds(waiting)
        cost = at_most(seconds) + ("" if seconds is None else
                                   f" (the whole step{'s' * (len(waiting) > 1)}; runs already done are kept)")
        return f"running {_named(waiting)} with the plan's current command", cost
    if judgement.verdict == NOT_TESTABLE:
        return _gate_seeds(judgement, plan, runs) or ("runs that meet the precondition its reason names", "–")
    return _more_seeds(judgement, plan, runs)


def settling_rows(judgements: Sequence[Judgement], plan: Plan, pending: Sequence[str],
                  runs: Mapping[str, int] | None = None) -> list[list[str]]:
    """One row per undecided claim of the paper: its id, verdict, what would settle it and what that costs."""
    rows = []
    for j in judgements:
        if j.claim.source != PAPER:
            continue
        if j.verdict in (INCONCLUSIVE, NOT_TESTABLE):
            rows.append([j.claim.id, j.verdict, *what_settles(j, plan, pending, runs)])
        elif j.unsettled and "settled_by" in j.claim.options:
            # A decided verdict that leaves part of the claim unmeasured: the run that would measure it.
            rows.append([j.claim.id, f"{j.verdict}; open: {j.unsettled}", *_remedy(j, plan)])
    return rows


def _remedy(judgement: Judgement, plan: Plan) -> tuple[str, str]:
    """The claim's ``settled_by``: what, and its cost (a text, or a multiple of the named steps' expected time)."""
    what, cost = judgement.claim.options["settled_by"]
    if isinstance(cost, str):
        return what, cost
    steps, factor = cost
    seconds = plan.expected_seconds(steps)
    return what, ("not sized" if seconds is None else
                  f"about {duration(factor * seconds, to_minute=True)} ({factor:g} times {_named(steps)})")
