"""Sweeps: every point in a process of its own, run by the experiment's sweep_point command; over seeds, every
point once per seed, results of a single-seed sweep reused as seed 0's; a failed point, one after another, ends
the sweep with its own line. The toy experiment (tests/sweep_toy.py) trains nothing, so its processes start fast."""
import json
import os
import sys
from pathlib import Path

import pytest

from infodropout.paper.errors import CommandFailed
from infodropout.paper.train.sweeps import POINT_KEYS, run_sweep, with_seeds
from infodropout.paper.figures.plots import plot_series

TESTS = Path(__file__).resolve().parent


def test_with_seeds_repeats_every_point_seed_by_seed():
    points = [{"beta": 0.1}, {"beta": 1.0}]
    assert with_seeds(points, [0, 2]) == [{"beta": 0.1, "seed": 0}, {"beta": 1.0, "seed": 0},
                                          {"beta": 0.1, "seed": 2}, {"beta": 1.0, "seed": 2}]


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """The toy experiment, importable by its points' processes (which start in another folder), and a config of
    it whose points log what they run."""
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.setattr(sys, "argv", ["sweep_toy.py", "sweep"])  # the program the sweep's lines are said by
    monkeypatch.chdir(tmp_path)
    sys.path.insert(0, str(TESTS))
    try:
        import sweep_toy
    finally:
        sys.path.remove(str(TESTS))
    # The log in the working folder, where the points run too: its name goes into the sweep's folder name.
    config = {**sweep_toy.DEFAULTS, "plots_dir": str(tmp_path / "plots"), "log": "ran.txt"}
    return sweep_toy, config


def ran(config) -> list[tuple[float, int]]:
    log = Path(config["log"])
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return [(float(beta), int(seed)) for beta, seed in (line.split() for line in lines)]


def test_a_sweep_runs_each_point_in_a_process_of_its_own_with_the_sweeps_config(toy, capfd):
    sweep_toy, config = toy
    results, folder = run_sweep("toy", config, sweep_toy.DEFAULTS, [{"beta": 0.1}, {"beta": 1.0}], sweep_toy.TOY_POINT)
    pids = [result["pid"] for result in results]
    assert len(set(pids)) == 2 and os.getpid() not in pids  # each point its own process, none this one
    assert [(r["beta"], r["error"]) for r in results] == [(0.1, 1.0), (1.0, 10.0)]
    # One after another, a point gets the sweep's own threads (0: TensorFlow's choice, every core) and environment,
    # and its function the sweep's config and the point, without the command's own entries.
    assert all(r["threads"] == 0 and r["omp_threads"] == os.environ.get("OMP_NUM_THREADS") for r in results)
    assert not set(POINT_KEYS) & set(results[0]["keys"]) and set(sweep_toy.DEFAULTS) <= set(results[0]["keys"])
    assert json.loads((folder / "results.json").read_text()) == results
    out, err = capfd.readouterr()
    assert "Sweep point 1/2: beta=0.1 (0 done).\n" in out and "Sweep point 2/2: beta=1.0 (1 done).\n" in out
    assert "Running command" not in err and "Added new config entry" not in err


def test_a_sweep_over_seeds_reuses_the_results_kept_without_a_seed_as_seed_0(toy):
    sweep_toy, config = toy
    config["seeds"] = [0, 1]
    # An earlier single-seed sweep kept its results without a "seed" key.
    first, folder = run_sweep("toy", config, sweep_toy.DEFAULTS, [{"beta": 0.1}, {"beta": 1.0}], sweep_toy.TOY_POINT)
    assert ran(config) == [(0.1, 0), (1.0, 0)] and all("seed" not in r for r in first)
    results, again = run_sweep("toy", config, sweep_toy.DEFAULTS, with_seeds([{"beta": 0.1}, {"beta": 1.0}], [0, 1]),
                               sweep_toy.TOY_POINT)
    assert again == folder  # the seeds do not change the sweep's folder
    assert ran(config) == [(0.1, 1), (1.0, 1)]  # seed 0's points were reused
    assert json.loads((folder / "results.json").read_text()) == results and len(results) == 4


def test_one_after_another_a_failed_point_ends_the_sweep_with_its_own_line_and_keeps_those_before(toy, capfd):
    sweep_toy, config = toy
    points = [{"beta": 0.1}, {"beta": -1.0}, {"beta": 1.0}]
    with pytest.raises(CommandFailed) as failure:
        run_sweep("toy", config, sweep_toy.DEFAULTS, points, sweep_toy.TOY_POINT)
    # The point's own message and status, said once, by the sweep (last, as when the point ran in its process).
    assert failure.value.message == "a negative beta" and failure.value.code == 2
    assert "a negative beta" not in capfd.readouterr().err
    assert ran(config) == [(0.1, 0)]  # the point after it did not start
    (path,) = Path(config["plots_dir"]).glob("toy-sweep*/results.json")
    assert [r["beta"] for r in json.loads(path.read_text())] == [0.1]


def test_plot_series_draws_the_mean_of_the_seeds_with_error_bars(tmp_path):
    results = [{"beta": b, "seed": s, "error": 10 * b + s} for b in (0.1, 1.0, 3.0) for s in (0, 1, 2)]
    paths = plot_series(results, "beta", {"error": "test error"}, tmp_path / "curve", "β", "test error (%)")
    assert [path.suffix for path in paths] == [".png", ".pdf"] and all(path.stat().st_size > 0 for path in paths)
