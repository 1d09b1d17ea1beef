"""The plan handed to a scheduler: ``reproduce.py --list``, ``--step ID``, steps finishing at once, ``--report-only``."""

import pytest
import json
import multiprocessing
import shlex
import subprocess
import sys

from infodropout.paper.paths import REPO_ROOT as ROOT
from infodropout.paper.reproduction.plans import dependencies, make_plan
from infodropout.paper.reproduction.ledger import record


def reproduce(*args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "reproduce.py"), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_list_prints_every_step_in_dependency_order_with_its_command_and_the_report_last(tmp_path):
    completed = reproduce("--scale", "tiny", "--list", "--work", str(tmp_path / "work"), "--models-dir",
                          str(tmp_path / "models"))
    assert completed.returncode == 0, completed.stderr
    rows = [line.split("\t") for line in completed.stdout.splitlines()]
    assert all(len(row) == 5 for row in rows)
    # The tiny plan is not sized step by step: its expected minutes read "-".
    assert {row[4] for row in rows} == {"-"}
    plan = make_plan("tiny", cifar10=False)
    assert [row[0] for row in rows] == [step.name for step in plan.steps] + ["report"]
    seen, waves = set(), {}
    for name, wave, needs, command, _ in rows:
        needed = set() if needs == "-" else set(needs.split(","))
        assert needed <= seen, f"{name} needs a later step"
        # A step's wave comes after the waves of all it needs.
        assert int(wave) == 1 + max((waves[n] for n in needed), default=0)
        seen.add(name)
        waves[name] = int(wave)
        argv = shlex.split(command)
        assert argv[:3] == ["./reproduce.py", "--scale", "tiny"]
        # Every command works in the same folders as the listing.
        assert argv[argv.index("--work") + 1] == str(tmp_path / "work")
        assert argv[argv.index("--models-dir") + 1] == str(tmp_path / "models")
        if name != "report":
            assert argv[-2:] == ["--step", name]
    assert rows[-1][3].endswith("--report-only") and set(rows[-1][2].split(",")) == seen - {"report"}
    assert int(rows[-1][1]) == max(waves.values())
    # A step waits for the earlier steps of its script that train (the runs it reads, or may share); readers do
    # not wait for each other, nor scripts for other scripts.
    needs = dependencies(plan)
    assert "figure1-relu-train" in needs["figure1-relu"] and "figure5" in needs["figure3b-6"]
    assert needs["figure2-beta0.5"] == ("figure2-sweep",)
    assert needs["figure3a"] == () and needs["figure5"] == () and needs["table1"] == ()
    assert waves["figure2-beta0.01"] == waves["figure2-beta0.5"] == 2


def test_an_unknown_step_is_refused_in_one_line(tmp_path):
    completed = reproduce("--scale", "tiny", "--step", "figure9", "--work", str(tmp_path))
    assert completed.returncode == 2
    assert "no step figure9" in completed.stderr and "--list" in completed.stderr


def _record_many(args):
    ledger, worker = args
    for index in range(15):
        record(ledger, f"w{worker}-{index}", {"status": "done", "seconds": 1.0})


def test_steps_finishing_at_once_all_reach_the_ledger(tmp_path):
    ledger = tmp_path / "steps.json"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_record_many, [(ledger, worker) for worker in range(4)])
    assert len(json.loads(ledger.read_text())) == 60


@pytest.mark.slow
def test_one_step_then_the_report_of_what_is_done(tmp_path):
    folders = ["--work", str(tmp_path / "work"), "--out", str(tmp_path / "out"), "--models-dir",
               str(tmp_path / "models"), "--datasets-dir", str(tmp_path / "datasets")]
    step = reproduce("--scale", "tiny", "--step", "table1", *folders, timeout=600)
    assert step.returncode == 0, step.stdout[-2000:] + step.stderr[-2000:]
    assert not (tmp_path / "out" / "REPORT-tiny.md").exists()  # a step alone writes no report
    ledger = json.loads((tmp_path / "work" / "steps.json").read_text())
    assert list(ledger) == ["table1"] and ledger["table1"]["status"] == "done"
    report = reproduce("--scale", "tiny", "--report-only", *folders)
    assert report.returncode == 0, report.stderr[-2000:]
    text = (tmp_path / "out" / "REPORT-tiny.md").read_text()
    assert "## Table I" in text


def test_a_step_that_fails_is_said_so_not_that_all_steps_ran(tmp_path):
    models = tmp_path / "models"
    models.write_text("a file where the models folder should be")  # every run of the step fails at once
    folders = ["--work", str(tmp_path / "work"), "--models-dir", str(models), "--datasets-dir", str(tmp_path / "data")]
    result = reproduce("--scale", "tiny", "--step", "table1", *folders)
    assert result.returncode == 1
    assert "All" not in result.stdout and "steps ran" not in result.stdout
    assert f"1 of 1 steps did not finish (table1; their logs are in {tmp_path / 'work'}/logs/)" in result.stderr
