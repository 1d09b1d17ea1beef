"""The claims' and sanity checks' tables that close each section of the report, and their verdict cells."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infodropout.paper.report.verdicts import HOLDS, INCONCLUSIVE, NOT_TESTABLE

if TYPE_CHECKING:
    from infodropout.paper.report.claims import Judgement
    from infodropout.paper.report.page import Report


def verdict_text(judgement: Judgement) -> str:
    """The verdict cell of a section's table. The opening table gives only a short reason, so the whole of it is
    here: a not testable claim names the preconditions it missed (their reasons are in the precondition column),
    an inconclusive one what each undecided comparison could have detected; a reading revised after the runs
    shows the former reading's verdict beside it."""
    former = f" ({judgement.former})" if judgement.former else ""
    if judgement.verdict == NOT_TESTABLE:
        unmet = [c for c in judgement.conditions if not c.met]
        why = "; ".join(f"{c.name} {'not measured' if c.met is None else 'not met'}" for c in unmet)
        return f"not testable here ({why or judgement.reason})"
    if judgement.verdict == INCONCLUSIVE:
        return f"inconclusive: {judgement.reason}{former}"
    return (f"**{judgement.verdict}**" if judgement.verdict == HOLDS else judgement.verdict) + former


def claims_table(report: Report, section: str) -> None:
    """The judged claims of ``section``: id, claim (source), preconditions, measurement, verdict."""
    judged = [j for j in report.judgements if j.claim.section == section]
    if not judged:
        return
    report.add("Claims (the rules are under *How the verdicts are reached* at the top; *added*: a check of ours, not the paper's text):", "")
    report.table(["id", "claim; *how it is measured*", "precondition", "measured", "verdict"],
                 [[j.claim.id + (" (added)" if j.claim.source == "added" else ""),
                   f"{j.claim.gist}; *{j.claim.measure}*", "; ".join(c.text() for c in j.conditions) or "–",
                   j.measured, verdict_text(j)] for j in judged])


def sanity_table(report: Report, section: str, step: str | None = None) -> None:
    """The sanity checks of ``section`` (of ``step`` where given): shown, but neither claims nor counted."""
    judged = [j for j in report.sanity if j.claim.section == section and (step is None or step in j.claim.steps)]
    if not judged:
        return
    report.add("Sanity checks (a bound or a fit that can hardly fail; not claims, not counted):", "")
    report.table(["check; *how it is measured*", "measured", "outcome"],
                 [[f"{j.claim.gist}; *{j.claim.measure}*", j.measured, verdict_text(j)] for j in judged])
