"""The preconditions under which a run can test a claim of the paper, checked on the runs' own results.

Each check returns a :class:`Condition`: met, not met (with the reason), or not measured (the results lack
the key it reads: a plan run before the key was recorded). A claim is tested only where every one of its
preconditions is met; otherwise it is *not testable here*, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from infodropout.paper.report.verdicts import HOLDS, Difference, direction, finite, one_sample, over_seeds, paired

# Classifiers: chance's error with 10 classes, and the training error under which a run counts as having
# learned: half of chance's (a run near chance is not a result).
CHANCE_ERROR = 90.0
LEARNED_BOUND = CHANCE_ERROR / 2
# A probe fits its own training set where its training error is this far below chance.
PROBE_MARGIN = 10.0
# A layer with a larger share of dead ReLU units marks its run as an optimisation failure.
DEAD_LIMIT = 0.10

LEARNED, OVERFITS, SAME_BUDGET, NO_OPTIMISATION_FAILURE, PROBE_FITS, ESTIMATOR_VALID, CONVERGED = (
    "learned", "overfits", "same budget", "no optimisation failure", "probe fits", "estimator valid", "converged")


@dataclass(frozen=True)
class Condition:
    """One precondition as the runs meet it: ``met`` True, False, or None where it is not measured."""

    name: str
    met: bool | None
    reason: str
    # Where a comparison over seeds decides it (the probe against an untrained network's), that comparison: more
    # seeds may meet it.
    estimate: Difference | None = None
    # The settings a precondition gated per setting left out of the claim (named in ``reason``), e.g. T1's k.
    left_out: tuple = ()

    def text(self) -> str:
        state = "met" if self.met else "not met" if self.met is False else "not measured"
        return f"{self.name}: {state} ({self.reason})" if self.reason else f"{self.name}: {state}"


# How a run's settings are named when a precondition names the run: (key, label) in the order they are said.
RUN_SETTINGS = (("latent", "{}"), ("dropout", "{}"), ("width", "{} units"), ("filter_percentage", "share {:g}"),
                ("beta", "β = {:g}"), ("k", "k = {}"), ("seed", "seed {}"))


def run_label(row: dict) -> str:
    """The run a result row stands for, by its settings: ``binary, share 0.025, seed 1``."""
    parts = [label.format(row[key]) for key, label in RUN_SETTINGS if row.get(key) is not None]
    return ", ".join(parts) or "the run"


def learned(rows: Sequence[dict], key: str = "train_error", where: str = "") -> Condition:
    """Every run fits its training data: ``key`` (training error, %) ≤ :data:`LEARNED_BOUND` in each row. Not
    met names each run that missed the bound, with its training error (``rows`` are the runs the claim's
    measurement reads, and only those)."""
    values = [r.get(key) for r in rows]
    if not rows or any(v is None for v in values):
        return Condition(LEARNED, None, f"no training error `{key}` in the results{where}")
    if not all(finite(v) for v in values):
        return Condition(LEARNED, False, "; ".join(f"{run_label(r)}: training error not a number"
                                                    for r in rows if not finite(r.get(key))) + where)
    bound = f"bound {LEARNED_BOUND:.0f} % (half of chance's {CHANCE_ERROR:.0f} %)"
    missed = sorted((r for r in rows if r[key] > LEARNED_BOUND), key=lambda r: -r[key])
    if missed:
        worst, *others = missed
        also = "; also " + ", ".join(f"{run_label(r)} ({r[key]:.1f} %)" for r in others) if others else ""
        return Condition(LEARNED, False, f"{run_label(worst)}: training error {worst[key]:.1f} % > {bound}{also}{where}")
    return Condition(LEARNED, True, f"worst training error {max(values):.1f} % of {len(rows)} run(s), {bound}{where}")


def overfits(rows: Sequence[dict], error: str = "error", train_error: str = "train_error") -> Condition:
    """The β = 0 runs show a train–test gap (``error − train_error``) beyond its standard error over seeds
    (its 95 % interval wholly above 0)."""
    baseline = [r for r in rows if r.get("beta") == 0]
    if not baseline:
        return Condition(OVERFITS, False, "no β = 0 run in this sweep")
    if any(r.get(train_error) is None for r in baseline):
        return Condition(OVERFITS, None, f"no training error `{train_error}` at β = 0")
    gaps = over_seeds(r[error] - r[train_error] for r in baseline if finite(r.get(error)) and finite(r[train_error]))
    if gaps is None:
        return Condition(OVERFITS, False, "the β = 0 errors are not numbers")
    gap = one_sample(gaps)
    met = direction(gap, +1) == HOLDS
    return Condition(OVERFITS, met, f"β = 0 test − training error {gap.text(1, ' points')}" +
                     ("" if gaps.n > 1 else "; one seed: no standard error"))


def probe_fits(rows: Sequence[dict]) -> Condition:
    """Figure 4's nuisance probe measures something: it fits its own training set (``nuisance_train_error`` at
    least :data:`PROBE_MARGIN` points below chance in every run), and at the smallest β, where the digit is easiest
    to read, it reads it better from the trained network than the same probe from an untrained one
    (``nuisance_error`` − ``nuisance_error_random``, paired by seed, its 95 % interval wholly below 0). Where it
    does no better than on an untrained network, a rising probe error says nothing of what training kept."""
    if not rows or any(r.get("nuisance_train_error") is None for r in rows):
        return Condition(PROBE_FITS, None, "no probe training error `nuisance_train_error` in the results")
    worst = max(r["nuisance_train_error"] for r in rows)
    smallest = min(r["beta"] for r in rows if r["beta"] > 0) if any(r["beta"] > 0 for r in rows) else 0
    easiest = [r for r in rows if r["beta"] == smallest]
    fits = worst <= CHANCE_ERROR - PROBE_MARGIN
    head = f"worst probe training error {worst:.1f} % (bound {CHANCE_ERROR - PROBE_MARGIN:.0f} %)"
    if any(r.get("nuisance_error_random") is None for r in easiest):
        return Condition(PROBE_FITS, None, f"{head}; no untrained-network baseline `nuisance_error_random`")
    trained = {r.get("seed", 0): r.get("nuisance_error") for r in easiest}
    untrained = {r.get("seed", 0): r["nuisance_error_random"] for r in easiest}
    d = paired(trained, untrained)
    above = d is not None and direction(d, -1) == HOLDS
    reason = (f"{head}; at β = {smallest:g}, the probe's test error on the trained network − on an untrained one: "
              f"{'n/a' if d is None else d.text(2, ' points')} (the trained network must read the digit better)")
    return Condition(PROBE_FITS, fits and above, reason, None if d is None else replace(d, groups=1))


def estimator_valid(rows: Sequence[dict], keys: Sequence[str], lower_bound: bool = False) -> Condition:
    """Each estimate ``key`` is a finite number, its ``<key>_converged`` and ``<key>_valid`` (the estimator's own
    flag) are true where recorded, it is not flagged ``<key>_at_ceiling``, and an InfoNCE
    estimate lies below its ceiling log(batch) (``<key>_batch``, else ``mi_batch_size``). With ``lower_bound``
    (a lower bound of a mutual information, which is ≥ 0) a bound not above 0 says nothing and fails it."""
    problems, checked = [], 0
    for r in rows:
        for key in keys:
            if key not in r:
                continue
            checked += 1
            at = f"{key} at β = {r.get('beta')}"
            if not finite(r[key]):
                problems.append(f"{at} is not a number (failed estimate)")
            elif lower_bound and r[key] <= 0:
                problems.append(f"{at} is {r[key]:.2f}, not above 0: the bound says nothing")
            elif r.get(f"{key}_converged") is False:
                problems.append(f"{at} did not converge")
            elif r.get(f"{key}_valid") is False:  # the estimator's own flag: not converged, or at its ceiling
                problems.append(f"{at} is flagged invalid ({r.get(f'{key}_reason') or 'no reason given'})")
            elif r.get(f"{key}_at_ceiling"):
                problems.append(f"{at} is at its ceiling {r.get(f'{key}_ceiling')}")
            elif "infonce" in key.lower():
                batch = r.get(f"{key}_batch", r.get("mi_batch_size"))
                if batch and r[key] >= math.log(batch) - 0.05:
                    problems.append(f"{at} is at its ceiling log {batch}")
    if not checked:
        return Condition(ESTIMATOR_VALID, None, "no estimate " + ", ".join(f"`{k}`" for k in keys) + " in the results")
    if problems:
        return Condition(ESTIMATOR_VALID, False, "; ".join(problems))
    converged = any(f"{key}_converged" in r or f"{key}_valid" in r for r in rows for key in keys)
    return Condition(ESTIMATOR_VALID, True, f"{checked} estimates finite" +
                     (", converged" if converged else ", convergence not recorded"))
