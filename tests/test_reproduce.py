"""The reproduction command: its plans, its ledger, and a tiny end-to-end run whose report is complete."""

import json
import re
import subprocess
import sys

import pytest

from infodropout.paper.paths import REPO_ROOT as ROOT
from infodropout.paper.reproduction.plans import Plan, Step, cifar10_present, make_plan
from infodropout.paper.reproduction.runner import default_work_dir, run_plan
from infodropout.paper.reproduction.scales import (
    AVX2_SLOWDOWN, CIFAR_STAND_IN, FASHION_STAND_IN, MEDIUM_ESTIMATED_AVX2_MINUTES, MEDIUM_ESTIMATED_MINUTES,
    MEDIUM_EXPECTED_MINUTES, MEDIUM_MEASURED_AVX2_MINUTES, MEDIUM_MEASURED_EPYC_AVX512_MINUTES,
    MEDIUM_MEASURED_MINUTES, OCCLUDED_FASHION_STAND_IN, SCALES,
)


def table_cells(markdown: str) -> list[str]:
    """Every cell of every Markdown table row (separator rows left out)."""
    cells = []
    for line in markdown.splitlines():
        if line.startswith("|") and not re.fullmatch(r"\|(-+\|)+", line):
            cells += [cell.strip() for cell in line.strip().strip("|").split("|")]
    return cells


@pytest.fixture(scope="module")
def tiny_reproduction(tmp_path_factory):
    """``./reproduce.py --scale tiny`` with its own models, data, work and output folders."""
    root = tmp_path_factory.mktemp("reproduce")
    argv = [sys.executable, str(ROOT / "reproduce.py"), "--scale", "tiny", "--work", str(root / "work"),
            "--out", str(root / "out"), "--models-dir", str(root / "models"), "--datasets-dir", str(root / "datasets")]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    return root, argv, completed


@pytest.mark.slow
def test_tiny_reproduction_writes_a_complete_report(tiny_reproduction):
    root, _, completed = tiny_reproduction
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # The small scale's report is REPORT.md; the others' are named by their scale, with their own figures folder.
    report = (root / "out" / "REPORT-tiny.md").read_text()
    # Every section is there, and every cell of every table holds a value.
    for heading in ("Figure 1", "Figures 2 and 7", "Figure 3a", "Figures 3b and 6", "Figure 4", "Figure 5", "Table I"):
        assert f"## {heading}" in report
    cells = table_cells(report)
    assert len(cells) > 100
    empty = [cell for cell in cells if not cell or cell in ("None", "nan")]
    assert not empty
    # CIFAR-10 is absent from the test's datasets folder: the stand-in is said, and figure 4 is skipped with its reason.
    assert CIFAR_STAND_IN in report
    assert "Not run at this scale: Occluded CIFAR needs CIFAR-10" in report
    # Every embedded figure was copied next to the report.
    figures = re.findall(r"!\[[^\]]*\]\((figures-tiny/[^)]+)\)", report)
    assert len(figures) >= 12
    assert all((root / "out" / figure).is_file() for figure in figures)
    assert "not drawn" not in report and "not run yet" not in report
    # Every claim's verdict is kept for the reports of the other scales, and the verdict table opens the report.
    claims = json.loads((root / "out" / "claims-tiny.json").read_text())
    assert claims and {entry["verdict"] for entry in claims} <= {"holds", "fails", "inconclusive", "not testable here"}
    assert "| id | claim | source | tiny scale |" in report
    # The checkpoints went where they were told, not into the project's models/.
    assert len(list((root / "models").glob("*.keras"))) >= 10


@pytest.mark.slow
def test_rerun_reuses_every_step(tiny_reproduction):
    root, argv, first = tiny_reproduction
    assert first.returncode == 0
    ledger_before = json.loads((root / "work" / "steps.json").read_text())
    again = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    steps = [line for line in again.stdout.splitlines() if line.startswith("[")]
    assert steps and all(line.endswith("reused") for line in steps)
    assert json.loads((root / "work" / "steps.json").read_text()) == ledger_before


def test_a_failed_step_is_recorded_and_the_others_still_run(tmp_path):
    # The step after the failure lists the runs, which trains nothing: the tiny reproduction (slow) runs the
    # plan's real steps, so this one need not train to show that a failure stops nothing after it.
    listing = Step("listing", "mnist_fc", "runs")
    broken = Step("broken", "mnist_fc", "train", config={"epochs": 0})
    lines = []
    ledger = run_plan(Plan("tiny", (broken, listing)), tmp_path, echo=lines.append,
                      folders={"models_dir": str(tmp_path / "models")})
    assert ledger["broken"]["status"] == "failed (exit 2)"
    assert "epochs" in (tmp_path / "logs" / "broken.log").read_text()
    assert ledger["listing"]["status"] == "done"
    assert "No trained mnist_fc run" in (tmp_path / "logs" / "listing.log").read_text()
    assert any("FAILED" in line for line in lines)


def test_plans_cover_every_figure_and_use_cifar10_when_present():
    for scale in SCALES:
        names = {step.name for step in make_plan(scale, cifar10=True).steps}
        assert {"figure1-relu", "figure1-softplus", "figure2-sweep", "figure3a", "figure3b-6", "figure4", "figure5",
                "table1", "table1-log-normal"} <= names
    with_cifar = make_plan("small", cifar10=True)
    assert not with_cifar.skipped and not any(step.stand_in for step in with_cifar.steps)
    without = make_plan("small", cifar10=False)
    assert "figure4" in without.skipped
    assert all(step.config["dataset"] == "sample" for step in without.steps if step.experiment == "cifar")
    # The full scale is the paper's: no stand-in, whatever is on the machine.
    assert not any(step.stand_in for step in make_plan("full", cifar10=False).steps)
    with pytest.raises(ValueError, match="scale"):
        make_plan("huge", cifar10=False)


def test_cifar10_present(tmp_path):
    assert not cifar10_present(tmp_path)
    (tmp_path / "cifar10-train.npz").touch()
    assert not cifar10_present(tmp_path)
    (tmp_path / "cifar10-test.npz").touch()
    assert cifar10_present(tmp_path)


def test_the_medium_plan_runs_on_fashion_mnist_with_seeds_and_is_sized_step_by_step():
    plan = make_plan("medium", cifar10=False)
    steps = {step.name: step for step in plan.steps}
    assert not plan.skipped  # figure 4 too, on Occluded Fashion-MNIST
    assert steps["figure4"].stand_in == OCCLUDED_FASHION_STAND_IN and steps["figure4"].config["dataset"] == "fashion"
    for step in plan.steps:
        if step.experiment == "cifar":  # the data-limited steps aside (test_overfit_plan.py), on 20,000 images
            assert step.config["dataset"] == "fashion" and step.stand_in == FASHION_STAND_IN
            assert step.config["num_train"] == 20000 or "-overfit" in step.name
    # At least 3 seeds for the comparisons of figures 3a, 3b, 4 and 5; 5 for figure 3a's.
    for name in ("figure3b-6", "figure4", "figure5"):
        assert steps[name].config["seeds"] == [0, 1, 2], name
    for name in ("figure3a", "figure3a-lr"):
        assert steps[name].config["seeds"] == [0, 1, 2, 3, 4], name
    # Every step has its expected time on the slower hosts: its time measured there, or its time measured on the
    # faster hosts scaled by their slowdown (or, for a step added or changed since, its estimate there), once.
    faster = set(MEDIUM_MEASURED_MINUTES) | set(MEDIUM_ESTIMATED_MINUTES) | set(MEDIUM_MEASURED_EPYC_AVX512_MINUTES)
    slower = set(MEDIUM_MEASURED_AVX2_MINUTES) | set(MEDIUM_ESTIMATED_AVX2_MINUTES)
    assert set(MEDIUM_EXPECTED_MINUTES) == faster | slower == set(steps)
    assert not set(MEDIUM_MEASURED_MINUTES) & set(MEDIUM_ESTIMATED_MINUTES)
    assert not (set(MEDIUM_MEASURED_MINUTES) | set(MEDIUM_ESTIMATED_MINUTES)) & set(MEDIUM_MEASURED_EPYC_AVX512_MINUTES)
    assert not set(MEDIUM_MEASURED_AVX2_MINUTES) & set(MEDIUM_ESTIMATED_AVX2_MINUTES)
    assert not faster & slower
    minutes = AVX2_SLOWDOWN * (sum(MEDIUM_MEASURED_MINUTES.values()) + sum(MEDIUM_ESTIMATED_MINUTES.values())
                               + sum(MEDIUM_MEASURED_EPYC_AVX512_MINUTES.values())) \
        + sum(MEDIUM_MEASURED_AVX2_MINUTES.values()) + sum(MEDIUM_ESTIMATED_AVX2_MINUTES.values())
    assert plan.expected_seconds() == pytest.approx(60 * minutes, rel=1e-3)
    assert default_work_dir("medium") == "results/medium" and default_work_dir("small") == "plots/reproduce-small"
    assert make_plan("small", cifar10=False).expected_seconds() is None


