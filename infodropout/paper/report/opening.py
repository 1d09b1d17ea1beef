"""The report's verdicts on the page: its opening (its answer in plain words, then every claim's verdict with a short
reason), and the tables of judged claims and sanity checks that close each section, with the whole of each reason.

A reader should learn from the first lines what held, what failed and what could not be tested here and why,
before any rule or provenance; each claim's full measurement stays in its own section. The paragraph is built
from the judgements, so it says what the runs say and changes with them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from infodropout.paper.report import preconditions as pre
from infodropout.paper.report.claims import OPPOSITE, too_small
from infodropout.paper.report.recorded import NOTE
from infodropout.paper.report.verdicts import FAILS, HOLDS, INCONCLUSIVE, NOT_TESTABLE, VERDICTS, tally

if TYPE_CHECKING:
    from infodropout.paper.report.claims import Judgement
    from infodropout.paper.report.page import Report

# The longest "why" of the opening table: a line or two a reader takes in at a glance (the section has the rest).
BRIEF = 300

# Each claim in a few plain words, for the opening paragraph (the claims' gists are the paper's own terms).
PLAIN = {
    "1a": "ReLU activations after the noise look log-uniform",
    "1b": "Softplus activations after the noise look log-normal",
    "2a": "a larger β keeps the clutter out of the upper layers",
    "2b": "the KL map finds the digit",
    "2c": "a larger β generalises better among clutter",
    "2d": "the upper layers drop the clutter first",
    "3a1": "Information Dropout does at least as well as binary dropout (fully connected network)",
    "3a2": "its edge over binary dropout is largest in small networks",
    "3a3": "it beats constant log-normal noise (fully connected network)",
    "3a4": "it beats no dropout (fully connected network)",
    "3a5": "smaller networks learn less noise",
    "3b": "it does at least as well as binary dropout in All-CNN-32, most so with few filters",
    "3b2": "it does at least as well as constant log-normal noise and no dropout in All-CNN-32",
    "4a": "a larger β hides the occluding digit from the representation",
    "4b": "a larger β prevents overfitting on occluded images",
    "4a-mi": "the MINE bound of the occluding digit's information falls with β",
    "5a": "a larger β makes the last layer's units more independent",
    "5a-ndm": "the units grow more independent with β by an independent estimator (NDM)",
    "5b": "a larger β prevents overfitting (figure 5)",
    "5c": "too large a β raises the error sharply",
    "6a1": "a layer's total information hardly depends on its number of filters",
    "6a2": "the second dropout layer transmits less information than the first",
    "6b1": "with fewer filters each unit carries more information",
    "6b2": "the top layer's units carry more information than the bottom's",
    "8a": "letting the noise grow past the cap of 0.7 hurts",
    "T1": "the Information VAE's bound matches the Gaussian VAE's",
    "T1abs": "the VAE bounds are about −99 nats",
}

# What a claim reading another's numbers says of itself (CLAIMS.md: not two findings).
SEPARATE = "not a separate finding"

# Why a claim could not be tested, by the first precondition it missed, in plain words.
PLAIN_UNMET = {
    pre.LEARNED: "some runs they read did not learn (training error above half of chance's)",
    pre.OVERFITS: "the network without the regulariser did not overfit, so there was nothing to prevent",
    pre.CONVERGED: "runs were still improving when training stopped",
    pre.SAME_BUDGET: "the runs compared did not train on the same budget",
    pre.PROBE_FITS: "the probe read the nuisance no better from the trained network than from an untrained one",
    pre.ESTIMATOR_VALID: "the estimator gave no valid estimate",
    pre.NO_OPTIMISATION_FAILURE: "every setting compared failed to optimise",
    "60,000 training digits": "the paper's 60,000 MNIST training digits are not on this machine",
}


def clip(text: str, limit: int = BRIEF) -> str:
    """``text`` cut to at most ``limit`` characters at the last "; " between clauses (outside brackets) that fits,
    else at the last space, with "…" where something was cut."""
    if len(text) <= limit:
        return text
    room = limit - 2
    depth, cut = 0, -1
    for index, char in enumerate(text[:room]):
        depth += 1 if char in "([" else -1 if char in ")]" else 0
        if depth == 0 and text.startswith("; ", index):
            cut = index
    if cut <= 0:
        cut = text.rfind(" ", 0, room)
    return text[:cut if cut > 0 else room].rstrip(";, ") + " …"


def _compact(label: str, d, verdict: str) -> str:
    """One comparison in a few characters: the estimate and its 95 % interval (the SE is in the section)."""
    if d is None:
        return f"{label}: no estimate"
    if d.interval is None:
        return f"{label}: {d.value:+.2f} (no standard error)"
    low, high = d.interval
    digits = 2 if d.stderr >= 0.05 else 3  # a slope of α per doubling moves in the third decimal
    text = f"{label}: {d.value:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"
    if verdict == INCONCLUSIVE and d.detectable is not None:
        text += f", detectable ±{d.detectable:.{digits}f}"
    return text


def brief(judgement: Judgement) -> str:
    """The opening table's reason, at most :data:`BRIEF` characters: the preconditions missed, else the
    comparisons that decided the verdict (or could not), else what was measured; the claim's section has the
    whole of it."""
    if judgement.verdict == NOT_TESTABLE:
        return clip(judgement.reason)
    deciding = [(label, d, v) for label, d, v in judgement.comparisons if v == judgement.verdict and v != NOTE]
    # How to read the comparisons (a reading revised after the runs, claims that read the same numbers) is kept
    # whole; the comparisons are cut to the room left.
    suffix = "; ".join([label for label, _, v in judgement.comparisons if v == NOTE]
                       + ([judgement.former] if judgement.former else []))
    opposite = judgement.verdict == FAILS and not too_small(judgement.verdict, judgement.comparisons)
    text = ((OPPOSITE if opposite else "") + "; ".join(_compact(*c) for c in deciding)
            if deciding else judgement.reason)
    if not suffix or suffix in text:
        return clip(text)
    if len(suffix) > BRIEF * 2 // 3:
        return clip(f"{text}; {suffix}")
    return f"{clip(text, BRIEF - len(suffix) - 2)}; {suffix}"


def _ids(judgements: Sequence[Judgement]) -> str:
    """Each claim in plain words with its id, and what qualifies its verdict: a reading revised after the runs (with
    the former reading's verdict), or a part its runs leave open."""
    def named(j: Judgement) -> str:
        qualified = ([f"by a reading revised after the runs; {j.former}"] if j.former else []) + (
            [f"leaving open {j.unsettled}"] if j.unsettled else []) + (
            [SEPARATE] if any(SEPARATE in label for label, _, _ in j.comparisons) else []) + (
            ["no effect as large as its smallest effect of interest"] if too_small(j.verdict, j.comparisons) else [])
        return f"{PLAIN.get(j.claim.id, j.claim.id)} ({'; '.join([j.claim.id, *qualified])})"
    return "; ".join(named(j) for j in judgements)


def _these(claims: Sequence, singular: str, plural: str) -> str:
    """"these 6 fail" or "this one fails": the count of ``claims`` with its verb."""
    return f"these {len(claims)} {plural}" if len(claims) != 1 else f"this one {singular}"


def in_short(judgements: Sequence[Judgement], scale: str) -> str:
    """The report's answer in plain words: how many of the paper's claims held, failed, were inconclusive or could
    not be tested here, which, and why not."""
    paper = [j for j in judgements if j.claim.source == "paper"]
    by = {v: [j for j in paper if j.verdict == v] for v in VERDICTS}
    text = [f"**In short.** Of the paper's {len(paper)} claims, at the {scale} scale,"]
    if by[HOLDS]:
        text.append(f"{_these(by[HOLDS], 'holds', 'hold')}: {_ids(by[HOLDS])}.")
    if by[FAILS]:
        text.append(f"{_these(by[FAILS], 'fails', 'fail').capitalize()}: {_ids(by[FAILS])}.")
    if by[INCONCLUSIVE]:
        their = "its" if len(by[INCONCLUSIVE]) == 1 else "their"
        text.append(f"{_these(by[INCONCLUSIVE], 'is', 'are').capitalize()} inconclusive, {their} effect within what "
                    f"the spread between seeds can hide: {_ids(by[INCONCLUSIVE])}.")
    if by[NOT_TESTABLE]:
        groups: dict[str, list[str]] = {}
        for j in by[NOT_TESTABLE]:
            unmet = next((c for c in j.conditions if not c.met), None)
            why = ("what it reads was not recorded" if unmet is None or unmet.met is None
                   else PLAIN_UNMET.get(unmet.name, f"{unmet.name} was not met"))
            groups.setdefault(why, []).append(j.claim.id)
        text.append(f"{_these(by[NOT_TESTABLE], 'could', 'could').capitalize()} not be tested here: " + "; ".join(
            f"{', '.join(ids)}, because {why}" for why, ids in groups.items()) + ".")
    added = len(judgements) - len(paper)
    if added:
        text.append(f"The {added} checks of ours beside them are counted apart.")
    if scale != "full":
        text.append("These runs are smaller than the paper's (with stand-in data where CIFAR-10 is missing): a claim "
                    "that fails here is not refuted at the paper's scale. The table says why for each claim; each "
                    "claim's section below has the whole measurement.")
    return " ".join(text)


def opening(report: Report, judgements: Sequence[Judgement], out: Path, scale: str, records: list[dict]) -> None:
    """The paragraph in plain words, every claim's verdict at each scale with its short reason, then the tally."""
    report.add(in_short(judgements, scale), "")
    _verdicts_across_scales(report, judgements, out, scale, records)
    _tally(report, judgements)


def _tally(report: Report, judgements: Sequence[Judgement]) -> None:
    """The tally of the four verdicts, over the paper's claims and the added checks, and per section."""
    counts = tally(j.verdict for j in judgements)
    paper = tally(j.verdict for j in judgements if j.claim.source == "paper")
    report.add(f"**Tally.** Of {len(judgements)} claims ({sum(paper.values())} the paper's, "
               f"{len(judgements) - sum(paper.values())} added checks): " + ", ".join(
                   f"{counts[v]} {v}" for v in VERDICTS) + "; the paper's own: " + ", ".join(
                   f"{paper[v]} {v}" for v in VERDICTS) + ".", "")
    sections = list(dict.fromkeys(j.claim.section for j in judgements))
    report.table(["figure / table", *VERDICTS],
                 [[section, *(tally(j.verdict for j in judgements if j.claim.section == section)[v] for v in VERDICTS)]
                  for section in sections])


def _verdicts_across_scales(report: Report, judgements: Sequence[Judgement], out: Path, scale: str,
                            records: list[dict]) -> None:
    """One row per claim: its verdict at each scale whose claims-<scale>.json lies in ``out`` (written by that
    scale's report), this one's from ``records``, and the short reason at this scale. A file written before
    claims had ids cannot be matched to these claims and is left out."""
    from infodropout.paper.reproduction.scales import SCALES

    by_scale = {}
    for other in SCALES:
        path = out / f"claims-{other}.json"
        if other == scale:
            by_scale[other] = records
        elif path.exists():
            entries = [entry for entry in json.loads(path.read_text()) if "id" in entry]
            if entries:
                by_scale[other] = entries
    scales = [other for other in SCALES if other in by_scale]
    rows: dict[str, dict] = {}
    for other in scales:
        for entry in by_scale[other]:
            row = rows.setdefault(entry["id"], {"claim": entry["claim"], "source": entry["source"]})
            row[other] = entry["verdict"]
    if not rows:
        return
    why = {j.claim.id: brief(j) for j in judgements}
    report.add(f"Every claim's verdict at each scale whose report is in this folder, and in short why at the {scale} "
               "scale (the claim's section below has its whole measurement and each precondition; the rules follow "
               "the tables):", "")
    report.table(["id", "claim", "source"] + [f"{other} scale" for other in scales] + [f"why ({scale} scale)"],
                 [[key, row["claim"], row["source"]] + [row.get(other, "–") for other in scales] + [why.get(key, "")]
                  for key, row in rows.items()])


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


def sanity_table(report: Report, section: str) -> None:
    """The sanity checks of ``section`` (a figure's, or a probe step's): shown, but neither claims nor counted."""
    judged = [j for j in report.sanity if j.claim.section == section]
    if not judged:
        return
    report.add("Sanity checks (a bound or a fit that can hardly fail; not claims, not counted):", "")
    report.table(["check; *how it is measured*", "measured", "outcome"],
                 [[f"{j.claim.gist}; *{j.claim.measure}*", j.measured, verdict_text(j)] for j in judged])
