"""Table I over seeds: the same stopping rule for every run, rows that carry their seed, and the training digits
optionally binarised afresh each epoch."""

import json

import numpy as np
import pytest

from infodropout.paper.train.vae import binarize_at_step


def test_a_fresh_binarisation_is_a_function_of_seed_and_step_with_the_pixel_as_probability():
    grey = np.full((50, 28, 28, 1), 0.3, dtype="float32")
    grey[:, 0, 0, 0], grey[:, 0, 1, 0] = 0.0, 1.0
    first = binarize_at_step(grey, seed=0, step=7).numpy()
    assert set(np.unique(first)) <= {0.0, 1.0}
    np.testing.assert_array_equal(first, binarize_at_step(grey, seed=0, step=7).numpy())  # resumable: same draw
    assert not np.array_equal(first, binarize_at_step(grey, seed=0, step=8).numpy())  # a new one each step
    assert not np.array_equal(first, binarize_at_step(grey, seed=1, step=7).numpy())
    assert np.all(first[:, 0, 0, 0] == 0) and np.all(first[:, 0, 1, 0] == 1)
    # 39,100 pixels of intensity 0.3: their mean is 0.3 within 4 standard errors (0.0023 each).
    assert abs(first[:, 1:].mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / first[:, 1:].size)


def test_binarize_epoch_keeps_training_digits_grey_and_holds_out_binary_ones():
    from infodropout.paper.experiments import vae

    config = {**vae.DEFAULTS, "dataset": "sample", "num_train": 300, "num_test": 50, "validation": 100,
              "binarize": "epoch"}
    data = vae.load_data(config)
    assert len(np.unique(data.x_train)) > 2  # grey levels: binarised at each step instead
    assert set(np.unique(data.x_test)) <= {0.0, 1.0}
    training, held_out = vae.split_training_digits(config, data)
    assert len(training.x_train) == 200 and set(np.unique(held_out)) <= {0.0, 1.0}
    fixed = vae.load_data({**config, "binarize": "fixed"})
    assert set(np.unique(fixed.x_train)) <= {0.0, 1.0}
    np.testing.assert_array_equal(fixed.x_test, data.x_test)  # the test digits are the same either way


def test_seeds_summary_gives_the_mean_and_the_sample_spread():
    from infodropout.paper.experiments import vae

    assert vae.seeds_summary([-100.0]) == "-100.0"
    assert vae.seeds_summary([-100.0, -102.0, -104.0]) == "-102.0 ± 2.0 (3 seeds)"


@pytest.mark.slow
def test_the_table_runs_every_latent_once_per_seed_under_one_stopping_rule(tmp_path):
    from test_scripts import run

    values = ["dataset=sample", "num_train=300", "num_test=50", "validation=100", "patience=1", "epochs=2",
              "test_samples=1", "verbose=0", "ks=[1]", "seeds=[0,1]", "binarize=epoch"]
    table = run("vae.py", "table", "with", *values, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    results = json.loads(next((tmp_path / "plots").glob("vae-sweep.*/results.json")).read_text())
    assert sorted((r["latent"], r["seed"]) for r in results) == [
        ("gaussian", 0), ("gaussian", 1), ("information", 0), ("information", 1)]
    for r in results:
        assert r["max_epochs"] == 2 and r["validation"] == 100 and r["binarize"] == "epoch"
        assert 1 <= r["best_epoch"] <= r["last_epoch"] <= 2 and np.isfinite(r["elbo"])
    assert "(2 seeds)" in table.stdout and "seed 1: best validation bound at epoch" in table.stdout
    # The seed and the binarisation are in the runs' names; the seeds' runs differ.
    names = sorted(p.name for p in (tmp_path / "models").glob("vae.*.keras"))
    assert len(names) == 4 and all("binarize=epoch" in name for name in names)
    assert len({r["elbo"] for r in results}) == 4
