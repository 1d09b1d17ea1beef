"""REPORT.md: every claim of the paper judged on a reproduction's runs, beside every figure and table.

Reads what the steps of a :class:`~infodropout.paper.reproduction.plans.Plan` left under the work folder
(:class:`~infodropout.paper.report.page.Report`), judges each claim of :mod:`infodropout.paper.report.claims` on it (its
preconditions first, then its test by the rule of :mod:`infodropout.paper.report.verdicts`), and writes the report: the
rule, the tally of holds / fails / inconclusive / not testable, every claim's verdict at each scale whose
report lies beside it, then one section per figure or table (:mod:`infodropout.paper.report.sections`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from infodropout.paper.figures.plots import ERROR_BAR
from infodropout.paper.report.claims import CLAIMS, SANITY, Judgement, judge_all
from infodropout.paper.report.opening import opening
from infodropout.paper.reproduction.ledger import ran_as_planned
from infodropout.paper.report.page import Report, duration, report_name
from infodropout.paper.report.preconditions import CHANCE_ERROR, DEAD_LIMIT, LEARNED_BOUND, PROBE_MARGIN
from infodropout.paper.reproduction.plans import Plan, Step
from infodropout.paper.report.settling import at_most, settling_rows
from infodropout.paper.report.sections import SECTIONS, write_section
from infodropout.paper.report.verdicts import RULE

PRECONDITIONS = (
    f"**Preconditions**, checked on the runs' own results. *learned*: every run compared has a training error "
    f"(`train_error`; figure 4: `main_train_error_D`) of at most {LEARNED_BOUND:.0f} %, half of chance's "
    f"{CHANCE_ERROR:.0f} % for 10 classes, on every data set here (MNIST, Fashion-MNIST, Cluttered and Occluded "
    "MNIST digits). *overfits*: the β = 0 run of the same sweep has a test − training error gap whose 95 % interval "
    f"lies above 0. *no optimisation failure*: no layer with more than {100 * DEAD_LIMIT:.0f} % dead ReLU units "
    "(`dead_fraction_max`); a width that fails it is compared at a learning rate chosen on held-out training "
    f"images where one was chosen, else left out. *probe fits*: the nuisance probe's training error at least "
    f"{PROBE_MARGIN:.0f} points below chance ({CHANCE_ERROR:.0f} %) and its test error at the smallest β below "
    "chance with 95 % confidence. *estimator valid*: finite, converged where that is recorded, InfoNCE below its "
    "ceiling log(batch). *same budget* / *converged* (Table I): the same epoch limit, patience and held-out digits "
    "for both latents, every run stopped by its patience. A precondition the results do not record reads *not "
    "measured*, and the claim is not testable here."
)


POWER_RULE = ("An inconclusive verdict states, for each comparison it could not decide, the smallest effect the "
              "plan could have detected, (t₀.₉₇₅(dof) + t₀.₈(dof)) × the standard error (95 % two-sided, 80 % "
              "power), and about how many seeds an effect of the observed size would need; where the observed "
              "effect is beyond 1.96 standard errors but below the t quantile of so few degrees of freedom, it "
              "says that these seeds could not make it significant. A precondition is read on exactly the runs "
              "the claim's measurement reads, and a claim not testable here names the run and the bound it "
              "missed.")
SPREAD = ("**±.** In the sections' tables of results over seeds, ± is the sample standard deviation over seeds (SD, "
          f"n − 1), as each section says; the figures' error bars are the mean's {ERROR_BAR} (SE, the SD over √n), "
          "as their legends say; in the claims' *measured* column and the reasons, ± is a standard error (marked "
          "SE) with its 95 % interval; an estimator's own ± (MINE, NDM, the probes' cross-entropies) is its "
          "standard error over evaluation batches.")


def provenance(plan: Plan, ledger: dict) -> str:
    """Where and when the steps the report reads ran, from the ledger: a report rebuilt later, or elsewhere, says
    the machine of its steps rather than its own (each step records its machine; older steps did not)."""
    steps = [ledger[step.name] for step in plan.steps if step.name in ledger]
    if not steps:
        return ""
    finished = sorted(entry["finished"][:10] for entry in steps if "finished" in entry)
    span = f" finished {finished[0]}" + (f" to {finished[-1]}" if finished[-1] != finished[0] else "") if finished else ""
    machines = sorted({entry["machine"] for entry in steps if "machine" in entry})
    unnamed = sum("machine" not in entry for entry in steps)
    where = machines + ([f"{'all' if unnamed == len(steps) else unnamed} of them on a machine the ledger does not "
                         "name: they ran before it recorded one"] if unnamed else [])
    return f" The {len(steps)} steps it reads{span} ({'; '.join(where)})."


def write_report(plan: Plan, work_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write the report of ``plan`` into ``out_dir`` (REPORT.md for the small scale, REPORT-<scale>.md for the
    others; figures in figures/ or figures-<scale>/) from what its steps left in ``work_dir``, with
    claims-<scale>.json, every claim's verdict; steps not yet run are named as such. The report opens with
    each claim's verdict at every scale whose claims file lies in ``out_dir``. Returns the report's path."""
    work, out = Path(work_dir), Path(out_dir)
    report = Report(plan, work, out)
    body = Report(plan, work, out)
    body.ledger = report.ledger
    body.judgements, body.sanity = judge_all(body, CLAIMS), judge_all(body, SANITY)
    for title, _ in SECTIONS:
        write_section(body, title)
    records = [j.record() for j in body.judgements]
    claims_path = out / f"claims-{plan.scale}.json"
    claims_path.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    total = sum(report.ledger[step.name]["seconds"] for step in plan.steps if step.name in report.ledger)
    # Each stand-in data set, with what ran on it: CIFAR-10's figures (cifar.py) or figure 4 (occluded.py).
    stand_ins = {step.stand_in: "figure 4 (Occluded CIFAR)" if step.experiment == "occluded" else
                 "the All-CNN-32 experiments (figures 1, 3b, 5, 6)" for step in plan.steps if step.stand_in}
    # The answer first: in plain words, then every claim's verdict with a short reason; the rules, the setting and
    # where the steps ran after. Nothing here names the host that writes the report, nor the day: the same ledger
    # and results give the same file anywhere (each step's machine and time come from the ledger).
    report.add(f"# Reproduction report: the {plan.scale} scale", "")
    unfinished = [step.name for step in plan.steps if not report.done(step.name)]
    if unfinished:
        report.add(f"**Unfinished.** {len(unfinished)} of {len(plan.steps)} steps have no results yet "
                   f"({', '.join(unfinished)}); their sections say so. Running the plan again goes on from here.", "")
    opening(report, body.judgements, out, plan.scale, records)
    pending = pending_steps(report, plan)
    _pending(report, plan, pending)
    _settling(report, plan, pending, body.judgements)
    report.add("## How the verdicts are reached", "")
    report.add(f"**Where and when.** Written by `./reproduce.py --scale {plan.scale}` from its steps' results alone "
               f"(the ledger `steps.json` and each step's folder).{provenance(plan, report.ledger)} The steps took "
               f"{duration(total)} in all (each step's own time is given in its section; a step reused from an "
               "earlier invocation keeps the time it took then, and an extended sweep the time of its latest "
               "invocation, which trained only its new runs).", "")
    if plan.scale != "full":
        report.add(f"**Scale.** These are not the paper's runs: at the {plan.scale} scale every experiment trains on "
                   "fewer images for fewer epochs (and some with fewer filters) than the paper, as each section's "
                   "commands show; numbers are not expected to match the paper's, only its trends, and a claim "
                   "that fails here is not refuted at full scale. `./reproduce.py --scale full` runs the paper's "
                   "protocol.", "")
    if stand_ins:
        report.add("**Stand-in data.** CIFAR-10 was not on the machine the steps ran on, so " + "; ".join(
            f"{experiments} ran on the {stand_in}" for stand_in, experiments in sorted(stand_ins.items()))
                   + "; their numbers are not CIFAR-10's.", "")
    report.add(_precision_line(report.ledger, plan), "")
    report.add(f"**Verdicts.** {RULE} {POWER_RULE}", "", PRECONDITIONS, "", SPREAD, "")
    report.lines += body.lines
    path = out / report_name(plan.scale)
    path.write_text("\n".join(report.lines).rstrip() + "\n")
    # The figures folder belongs to the report: drop what an earlier report embedded and this one does not.
    for stale in set(report.figures.glob("*.png")) - body.copied:
        stale.unlink()
    return path


def pending_steps(report: Report, plan: Plan) -> list[Step]:
    """The plan's steps not done with the command the plan gives them now: never run, failed, or run with a former
    command (a sweep extended with seeds, β or methods keeps its runs and trains only the new ones)."""
    return [step for step in plan.steps if not ran_as_planned(report.ledger.get(step.name, {}), step)]


def _pending(report: Report, plan: Plan, steps: Sequence[Step]) -> None:
    """The steps of the plan not yet run with their current command (``steps``), each with its expected time; the
    table of what would settle the undecided claims says which of them each claim waits for."""
    if not steps:
        return
    expected = ", ".join(f"`{step.name}` ({at_most(step.expected_s)})" for step in steps)
    report.add(f"**Not yet run with the plan's current command:** {expected}. These steps are new or extended (more "
               "seeds, β, methods or k); the times are the whole step's, expected on 2 AVX2 cores, and an extended "
               f"sweep keeps its runs and trains only the new ones. Running `./reproduce.py --scale {plan.scale}` "
               "again runs them; the table after the verdicts says which undecided claims each would settle.", "")


def _settling(report: Report, plan: Plan, pending: Sequence[Step], judgements: Sequence[Judgement]) -> None:
    """For each of the paper's claims left undecided: what would settle it and about what it would cost."""
    runs = {step.name: len(report.own_results(step.name) or []) for step in plan.steps}
    rows = settling_rows(judgements, plan, [step.name for step in pending], runs)
    if not rows:
        return
    report.add("**What would settle the paper's undecided claims** (and what a decided one leaves open), and about what "
               "it would cost on 2 AVX2 cores: a "
               "step not yet run with the plan's current command, else the seeds an effect of the observed size "
               "would need (95 %, 80 % power, the spread between seeds as observed), costed from the runs its "
               "comparisons read (the runs a seed adds, at the mean time of a run of the steps read), else a run "
               "that meets the precondition in its reason above:", "")
    report.table(["id", "verdict", "what would settle it", "cost"], rows)


def _precision_line(ledger: dict, plan: Plan) -> str:
    """The precision the steps trained in, read from the configs they ran with (``precision``; none: float32)."""
    found: dict[str, list[str]] = {}
    for step in plan.steps:
        found.setdefault(ledger.get(step.name, {}).get("config", {}).get("precision") or "float32",
                         []).append(step.name)
    if set(found) <= {"float32"}:
        return "**Precision.** Every step trained in float32 (no step's command sets `precision`)."
    return "**Precision.** " + "; ".join(f"{precision}: {', '.join(steps)}" for precision, steps in found.items()) + "."
