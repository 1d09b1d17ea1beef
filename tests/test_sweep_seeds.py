"""Sweeps over seeds: every point once per seed, results of a single-seed sweep reused as seed 0's."""
import json

from infodropout.paper.train.sweeps import run_sweep, with_seeds
from infodropout.paper.figures.plots import plot_series


def test_with_seeds_repeats_every_point_seed_by_seed():
    points = [{"beta": 0.1}, {"beta": 1.0}]
    assert with_seeds(points, [0, 2]) == [{"beta": 0.1, "seed": 0}, {"beta": 1.0, "seed": 0},
                                          {"beta": 0.1, "seed": 2}, {"beta": 1.0, "seed": 2}]


def test_a_sweep_over_seeds_reuses_the_results_kept_without_a_seed_as_seed_0(tmp_path):
    defaults = {"beta": 3.0, "seed": 0, "plots_dir": "plots", "seeds": [0]}
    config = {**defaults, "plots_dir": str(tmp_path), "seeds": [0, 1]}
    ran = []

    def run_one(point_config):
        ran.append((point_config["beta"], point_config["seed"]))
        return {"error": 10 * point_config["beta"] + point_config["seed"]}

    # An earlier single-seed sweep kept its results without a "seed" key.
    first, folder = run_sweep("demo", config, defaults, [{"beta": 0.1}, {"beta": 1.0}], run_one)
    assert ran == [(0.1, 0), (1.0, 0)] and all("seed" not in r for r in first)
    ran.clear()
    results, again = run_sweep("demo", config, defaults, with_seeds([{"beta": 0.1}, {"beta": 1.0}], [0, 1]), run_one)
    assert again == folder  # the seeds do not change the sweep's folder
    assert ran == [(0.1, 1), (1.0, 1)]  # seed 0's points were reused
    assert json.loads((folder / "results.json").read_text()) == results and len(results) == 4


def test_plot_series_draws_the_mean_of_the_seeds_with_error_bars(tmp_path):
    results = [{"beta": b, "seed": s, "error": 10 * b + s} for b in (0.1, 1.0, 3.0) for s in (0, 1, 2)]
    paths = plot_series(results, "beta", {"error": "test error"}, tmp_path / "curve", "β", "test error (%)")
    assert [path.suffix for path in paths] == [".png", ".pdf"] and all(path.stat().st_size > 0 for path in paths)
