"""Sweeps: every point in a fresh process of its own, handed its config object and the experiment's point function
(nothing parsed from a command line or a file); over seeds, every point once per seed, results of a single-seed sweep
reused as seed 0's; a failed point, one after another, ends the sweep with its own line, and at once is named with
its cause while the others are kept; SIGTERM stops the points' processes, which say what they kept. The toy
experiment (tests/sweep_toy.py) trains nothing, so its processes start fast."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infodropout.paper.errors import CommandFailed
from infodropout.paper.machine import threads_per_job
from infodropout.paper.train.sweeps import run_sweep, with_seeds
from infodropout.paper.figures.plots import plot_series

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def test_with_seeds_repeats_every_point_seed_by_seed():
    points = [{"beta": 0.1}, {"beta": 1.0}]
    assert with_seeds(points, [0, 2]) == [{"beta": 0.1, "seed": 0}, {"beta": 1.0, "seed": 0},
                                          {"beta": 0.1, "seed": 2}, {"beta": 1.0, "seed": 2}]


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """The toy experiment, importable by its points' processes (handed this process's sys.path), and a config of
    it whose points log what they run."""
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setattr(sys, "argv", ["sweep_toy.py", "sweep"])  # the program the sweep's lines are said by
    monkeypatch.chdir(tmp_path)
    import sweep_toy

    # The log in the working folder, where the points run too: its name goes into the sweep's folder name.
    config = sweep_toy.Config(plots_dir=str(tmp_path / "plots"), log="ran.txt")
    return sweep_toy, config


def ran(config) -> list[tuple[float, int]]:
    log = Path(config["log"])
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return [(float(beta), int(seed)) for beta, seed in (line.split() for line in lines)]


def test_a_sweep_runs_each_point_in_a_process_of_its_own_handed_its_config_object(toy, capfd):
    sweep_toy, config = toy
    results, folder = run_sweep("toy", config, sweep_toy.DEFAULTS, [{"beta": 0.1}, {"beta": 1.0}], sweep_toy.TOY_POINT)
    pids = [result["pid"] for result in results]
    assert len(set(pids)) == 2 and os.getpid() not in pids  # each point its own process, none this one
    assert [(r["beta"], r["error"]) for r in results] == [(0.1, 1.0), (1.0, 10.0)]
    # One after another, a point gets the sweep's own threads (0: TensorFlow's choice, every core) and environment,
    # and its function the experiment's config object of the sweep's values and the point's, nothing else.
    assert all(r["threads"] == 0 and r["omp_threads"] == os.environ.get("OMP_NUM_THREADS") for r in results)
    assert all(r["typed"] and r["keys"] == sorted(sweep_toy.DEFAULTS) for r in results)
    assert not any(r["tensorflow"] for r in results)  # a fresh interpreter: nothing of the sweep's imported
    assert all(r["cwd"] == str(Path.cwd()) for r in results)
    assert json.loads((folder / "results.json").read_text()) == results
    out, err = capfd.readouterr()
    assert "Sweep point 1/2: beta=0.1 (0 done).\n" in out and "Sweep point 2/2: beta=1.0 (1 done).\n" in out
    assert "toy point beta=0.1 seed=0\n" in out and "[beta=" not in out  # the point's own lines, unprefixed


def test_a_sweep_over_seeds_reuses_the_results_kept_without_a_seed_as_seed_0(toy):
    sweep_toy, config = toy
    config = config.replace(seeds=[0, 1])
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


def test_at_once_each_point_gets_its_share_of_the_cores_its_lines_are_prefixed_and_a_failure_is_named(toy, capfd):
    sweep_toy, config = toy
    config = config.replace(jobs=2)
    points = [{"beta": 0.1}, {"beta": -1.0}, {"beta": 99.0}, {"beta": 1.0}]
    with pytest.raises(CommandFailed) as failure:
        run_sweep("toy", config, sweep_toy.DEFAULTS, points, sweep_toy.TOY_POINT)
    # Every point ran; the two that failed are named with their causes (a bug's last line), the others kept.
    assert failure.value.code == 1 and failure.value.message.startswith("2 of 4 sweep points failed: ")
    assert "[beta=-1.0] a negative beta" in failure.value.message
    assert "[beta=99.0] ZeroDivisionError: a bug" in failure.value.message
    (path,) = Path(config["plots_dir"]).glob("toy-sweep*/results.json")
    kept = json.loads(path.read_text())
    assert [r["beta"] for r in kept] == [0.1, 1.0]
    # The threads, decided once by the sweep: in each process's config and in its environment from its start.
    share = threads_per_job(2)
    assert all(r["threads"] == share and r["omp_threads"] == r["tf_threads"] == str(share) for r in kept)
    out, err = capfd.readouterr()
    assert "[beta=0.1] toy point beta=0.1 seed=0\n" in out and "[beta=1.0] toy point beta=1.0 seed=0\n" in out
    assert "[beta=99.0] Traceback (most recent call last):" in out  # a bug's traceback, prefixed too


STOPPED_SWEEP = """
import sys
sys.path.insert(0, sys.argv[1])
import sweep_toy
from infodropout.paper.train.sweeps import run_sweep
config = sweep_toy.Config(plots_dir="plots", log="ran.txt", jobs=int(sys.argv[2]))
try:
    run_sweep("toy", config, sweep_toy.DEFAULTS, [{"beta": 0.1}, {"beta": 5.0}, {"beta": 1.0}], sweep_toy.TOY_POINT)
except KeyboardInterrupt:
    print("SWEEP STOPPED", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_sigterm_stops_the_points_processes_which_say_what_they_kept(tmp_path, jobs):
    process = subprocess.Popen([sys.executable, "-c", STOPPED_SWEEP, str(TESTS), str(jobs)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    # Stopped once the first point is kept and the long one waits.
    waiting, kept = tmp_path / "ran.txt.waiting", tmp_path / "plots"
    deadline = time.monotonic() + 120
    while not (waiting.exists() and list(kept.glob("toy-sweep*/results.json"))) and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert waiting.exists(), process.communicate()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "SWEEP STOPPED" in out, (out, err)
    assert "[beta=5.0] SIGTERM: stopped, its last completed epoch kept" in err
    with pytest.raises(ProcessLookupError):  # the point's process ended, and was waited for
        os.kill(int(waiting.read_text()), 0)
    (path,) = kept.glob("toy-sweep*/results.json")
    assert 0.1 in [r["beta"] for r in json.loads(path.read_text())]
    assert 1.0 not in [r["beta"] for r in json.loads(path.read_text())] or jobs == 2


def test_plot_series_draws_the_mean_of_the_seeds_with_error_bars(tmp_path):
    results = [{"beta": b, "seed": s, "error": 10 * b + s} for b in (0.1, 1.0, 3.0) for s in (0, 1, 2)]
    paths = plot_series(results, "beta", {"error": "test error"}, tmp_path / "curve", "β", "test error (%)")
    assert [path.suffix for path in paths] == [".png", ".pdf"] and all(path.stat().st_size > 0 for path in paths)
