"""What a claim's test records while it is judged, beside its verdict: every comparison with its estimate and
verdict (an inconclusive claim says what each undecided one could have detected; the opening's short reason reads
them), how to read them (notes), the verdict under a reading revised after the runs, and what a decided verdict
leaves open. The measurements (:mod:`infodropout.paper.report.measurements` and its siblings) record through
these functions; :func:`~infodropout.paper.report.claims.judge` collects them with :func:`recording`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from infodropout.paper.report.verdicts import Difference

# The comparisons a claim's test judged, as (label, estimate, verdict), while :func:`recording` is open: an
# inconclusive claim says what each of its undecided comparisons could have detected.
_JUDGED: ContextVar[list | None] = ContextVar("judged", default=None)


@contextmanager
def recording() -> Iterator[list[tuple[str, Difference | None, str]]]:
    """Collect every comparison judged (through :func:`judged`) inside the block."""
    comparisons: list[tuple[str, Difference | None, str]] = []
    token = _JUDGED.set(comparisons)
    try:
        yield comparisons
    finally:
        _JUDGED.reset(token)


# What a claim's test says beside its comparisons (how to read them), recorded with them: see :func:`noted`.
NOTE = "note"


def noted(text: str) -> str:
    """Record ``text`` as a reading of the claim being judged, to follow its comparisons in the verdict's reason
    (e.g. whether an effect is the network's or the noise's); returns ``text``."""
    comparisons = _JUDGED.get()
    if comparisons is not None:
        comparisons.append((text, None, NOTE))
    return text


# The verdict a claim gets under a reading revised after its runs, recorded as (reading and verdict, None, FORMER).
FORMER = "former"


# What a decided verdict leaves open, with the run that would close it (the claim's ``settled_by``).
UNSETTLED = "unsettled"


def unsettled(text: str) -> str:
    """Record ``text``, what the claim's verdict leaves unmeasured (e.g. whether an effect is the noise's), so that
    the report says what run would settle it; returns ``text``."""
    comparisons = _JUDGED.get()
    if comparisons is not None:
        comparisons.append((text, None, UNSETTLED))
    return text


def formerly(text: str) -> str:
    """Record ``text`` (the former reading and its verdict) for the claim being judged: CLAIMS.md asks a reading
    revised after the runs to show the former one's verdict beside it; returns ``text``."""
    comparisons = _JUDGED.get()
    if comparisons is not None:
        comparisons.append((text, None, FORMER))
    return text


def judged(label: str, d: Difference | None, verdict: str) -> str:
    """Note the comparison ``d`` (named ``label``) and its verdict for the claim being judged; returns the verdict."""
    comparisons = _JUDGED.get()
    if comparisons is not None:
        comparisons.append((label, d, verdict))
    return verdict
