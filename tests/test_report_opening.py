"""The report's opening: its answer in plain words first, a short reason per claim, and nothing that depends on the
host or the day it is written on."""
import json
import platform
import re
import time
from pathlib import Path

import pytest

from infodropout.paper.report.opening import BRIEF, PLAIN, clip
from infodropout.paper.report.claims import CLAIMS
from infodropout.paper.reproduction.plans import make_plan
from infodropout.paper.report.writer import write_report

ROOT = Path(__file__).resolve().parents[1]
MEDIUM = ROOT / "results" / "medium"


def _work(tmp_path: Path) -> Path:
    """A tiny plan's work folder with figure 5's sweep done on another host and day than this one."""
    folder = tmp_path / "work" / "figure5" / "sweep"
    folder.mkdir(parents=True)
    rows = [{"beta": b, "seed": s, "error": 5.0 + s, "train_error": 1.0, "total_correlation": tc + 0.01 * s}
            for b, tc in [(0.1, 0.9), (0.3, 0.5), (1.0, 0.1)] for s in (0, 1, 2)]
    (folder / "results.json").write_text(json.dumps(rows))
    (tmp_path / "work" / "steps.json").write_text(json.dumps({"figure5": {
        "status": "done", "argv": ["cifar.py", "sweep"], "seconds": 60, "finished": "2026-11-29 02:30:41",
        "machine": "2 CPU cores (a host of the ledger)"}}))
    return tmp_path / "work"


def test_the_report_is_the_same_file_whatever_host_and_day_write_it(tmp_path, monkeypatch):
    from infodropout.paper.machine import describe_machine

    work, plan = _work(tmp_path), make_plan("tiny", cifar10=False)
    first = write_report(plan, work, tmp_path / "a").read_bytes()
    here = describe_machine()
    # Another host (its kernel, its name) on another day.
    monkeypatch.setattr(platform, "release", lambda: "9.9.9-elsewhere")
    monkeypatch.setattr(platform, "node", lambda: "elsewhere")
    monkeypatch.setattr(time, "strftime", lambda *args: "1999-01-01")
    second = write_report(plan, work, tmp_path / "b").read_bytes()
    assert first == second
    text = first.decode()
    assert here not in text and time.localtime().tm_year != 1999
    # Provenance is the ledger's: its machine and the day its step finished.
    assert "2 CPU cores (a host of the ledger)" in text and "finished 2026-11-29" in text


def test_clip_cuts_between_clauses_outside_brackets():
    text = "a (b; c); " + "d" * 20 + "; " + "e" * 20
    assert clip(text, 100) == text
    assert clip(text, 36) == "a (b; c); " + "d" * 20 + " …"
    assert clip(text, 15) == "a (b; c) …"  # the "; " inside the brackets is no cut
    assert len(clip("word " * 100, BRIEF)) <= BRIEF


def test_every_claim_has_plain_words():
    assert {c.id for c in CLAIMS} <= set(PLAIN)


@pytest.mark.skipif(not (MEDIUM / "steps.json").exists(), reason="no committed medium results")
def test_the_medium_report_opens_with_plain_words_then_short_reasons_then_the_rules(tmp_path):
    text = write_report(make_plan("medium", cifar10=False), MEDIUM, tmp_path).read_text()
    lines = text.splitlines()
    # A plan with steps not yet run says so first (the steps its committed ledger lacks), then its answer.
    first = 4 if lines[2].startswith("**Unfinished.**") else 2
    assert lines[0] == "# Reproduction report: the medium scale" and lines[first].startswith("**In short.**")
    saved = json.loads((tmp_path / "claims-medium.json").read_text())
    paper = [entry for entry in saved if entry["source"] == "paper"]
    opening = lines[first]
    # The paragraph's counts are the claims file's, and it names every claim of the paper with its verdict's group.
    for verdict, word in (("holds", "hold"), ("fails", "fail"), ("inconclusive", "are inconclusive")):
        count = sum(entry["verdict"] == verdict for entry in paper)
        if count:  # "these 6 fail: ...", "this one fails: ..."
            said = f"[Tt]his one {verdict.replace('inconclusive', 'is inconclusive')}" if count == 1 else f"{count} {word}"
            assert re.search(rf"\b{said}[:,] ", opening), verdict
    for entry in paper:
        assert re.search(rf"[( ]{re.escape(entry['id'])}[;,)]", opening), entry["id"]
    # The verdict table's reasons are short; the rules come after it.
    header = lines.index(next(line for line in lines if line.startswith("| id | claim | source |")))
    rows = [line for line in lines[header + 2:] if line.startswith("|")]
    rows = rows[:next((i for i, row in enumerate(rows) if not row.startswith("| ")), len(rows))]
    whys = [row.rstrip(" |").rsplit(" | ", 1)[1] for row in rows[:len(saved)]]
    assert len(whys) == len(saved) and max(len(why) for why in whys) <= BRIEF
    assert text.index("## How the verdicts are reached") > text.index(rows[-1])


def test_the_plan_judged_is_the_one_the_ledger_ran_whatever_data_the_host_holds():
    from infodropout.paper.reproduction.ledger import cifar10_in_ledger, entry_of

    stand_in = {"figure5": {"experiment": "cifar", "command": "sweep", "config": {"dataset": "fashion"}},
                "table1": {"experiment": "vae", "command": "table", "config": {"dataset": "sample"}}}
    assert cifar10_in_ledger(stand_in, default=True) is False
    assert cifar10_in_ledger({"figure5": {"experiment": "cifar", "config": {"beta": 1.0}}}, default=False) is True
    assert cifar10_in_ledger({"table1": stand_in["table1"]}, default=True) is True  # no CIFAR step: the host's
    # A ledger of command lines, as written before, is read alike.
    assert cifar10_in_ledger({"figure5": entry_of({"argv": ["cifar.py", "sweep", "with", "dataset=fashion"]})},
                             default=True) is False


@pytest.mark.skipif(not (MEDIUM / "steps.json").exists(), reason="no committed medium results")
def test_reproduce_report_only_gives_the_same_report_on_a_host_with_cifar10(tmp_path):
    import subprocess
    import sys

    with_cifar = tmp_path / "datasets"
    with_cifar.mkdir()
    for name in ("cifar10-train.npz", "cifar10-test.npz"):  # what cifar10_present looks for
        (with_cifar / name).write_bytes(b"")
    reports = []
    for host, datasets in (("plain", tmp_path / "none"), ("cifar", with_cifar)):
        out = tmp_path / host
        subprocess.run([sys.executable, str(ROOT / "reproduce.py"), "--scale", "medium", "--report-only", "--out",
                        str(out), "--datasets-dir", str(datasets)], check=True, capture_output=True, cwd=ROOT)
        reports.append((out / "REPORT-medium.md").read_text().replace(str(out), "OUT"))
    assert reports[0] == reports[1]
    # The plan judged is the one the ledger ran: unfinished only by the steps not yet run with their current command.
    from test_plan_commands import CHANGED

    unfinished = re.search(r"\*\*Unfinished\.\*\* .*? \((.*?)\);", reports[1])
    assert unfinished is None or set(unfinished[1].split(", ")) <= CHANGED
