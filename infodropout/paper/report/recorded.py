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


# What a claim's test records beside its comparisons, each as (text, None, kind): how to read them (NOTE: e.g.
# whether an effect is the network's or the noise's, to follow the comparisons in the verdict's reason), the verdict
# under a reading revised after the runs (FORMER: CLAIMS.md asks for the former reading's verdict beside it), and what
# a decided verdict leaves unmeasured (UNSETTLED: the report says what run would settle it).
NOTE, FORMER, UNSETTLED = "note", "former", "unsettled"


def judged(label: str, d: Difference | None, verdict: str) -> str:
    """Note the comparison ``d`` (named ``label``) and its verdict for the claim being judged; returns the verdict."""
    comparisons = _JUDGED.get()
    if comparisons is not None:
        comparisons.append((label, d, verdict))
    return verdict


def noted(text: str) -> str:
    """Record ``text`` as a reading (:data:`NOTE`) of the claim being judged; returns ``text``."""
    judged(text, None, NOTE)
    return text


def formerly(text: str) -> str:
    """Record ``text``, the former reading and its verdict (:data:`FORMER`); returns ``text``."""
    judged(text, None, FORMER)
    return text


def unsettled(text: str) -> str:
    """Record ``text``, what the claim's verdict leaves unmeasured (:data:`UNSETTLED`); returns ``text``."""
    judged(text, None, UNSETTLED)
    return text
