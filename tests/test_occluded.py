"""The nuisance probe of figure 4 reads the frozen representation, and occluded.py runs end to end."""

import json
import re

import numpy as np
import pytest

from infodropout.models import all_cnn_32, nuisance_probe
from infodropout.paper.training import TrainSettings, train_nuisance_probe
from test_scripts import run

RNG = np.random.default_rng(0)


def test_the_probe_trains_on_a_frozen_network(tmp_path):
    network = all_cnn_32(0.1, dropout="information", input_keep_prob=0.8)
    before = [v.numpy().copy() for v in network.variables if "seed_generator" not in v.path]
    probe = nuisance_probe(tuple(network.get_layer("representation").output.shape[1:]), filters=16)
    probe_before = [w.copy() for w in probe.get_weights()]
    x, nuisance = RNG.normal(size=(60, 32, 32, 3)).astype("float32"), RNG.integers(0, 10, size=60)
    settings = TrainSettings(batch_size=20, epochs=2, learning_rate=0.05, lr_drops=(), beta=3.0, weight_decay=1e-3)
    stacked = train_nuisance_probe(network, probe, x, nuisance, settings, tmp_path / "probe.keras", verbose=0)
    after = [v.numpy() for v in network.variables if "seed_generator" not in v.path]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # batch-norm statistics included
    assert any(not np.array_equal(a, b) for a, b in zip(probe_before, probe.get_weights()))
    assert stacked.output.shape[1:] == (10,)


@pytest.mark.slow
def test_occluded_train_then_nuisance_then_sweep(tmp_path):
    (tmp_path / "datasets").mkdir()
    for split, n in (("train", 120), ("test", 60)):  # stand-in arrays in the real layout: plumbing only
        np.savez(tmp_path / "datasets" / f"occluded-cifar-{split}.npz",
                 data=RNG.normal(size=(n, 32, 32, 3)).astype("float32"), labels=RNG.integers(0, 10, size=n),
                 nuisance_labels=RNG.integers(0, 10, size=n))
    values = ["filter_percentage=0.1", "epochs=1", "probe_epochs=1", "batch_size=30", "verbose=0"]
    trained = run("occluded.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    result = run("occluded.py", "nuisance", "with", *values, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = re.search(r"^\| 3.0 \| 0 \| (\d+\.\d+) \| (\d+\.\d+) \| (\d+\.\d+) \|$", result.stdout, re.MULTILINE)
    assert row and all(0 <= float(v) <= 100 for v in row.groups())
    swept = run("occluded.py", "sweep", "with", *values, "betas=[0.5,3.0]", "seeds=[0,1]", cwd=tmp_path)
    assert swept.returncode == 0, swept.stderr
    folder = next((tmp_path / "plots").glob("occluded-sweep*"))
    results = json.loads((folder / "results.json").read_text())
    # Every β once per seed, seed by seed; seed 0 at β = 3.0 is the run `train` made, reused by its name.
    assert [(r["beta"], r["seed"]) for r in results] == [(0.5, 0), (3.0, 0), (0.5, 1), (3.0, 1)]
    assert swept.stdout.count("has completed its 1 epochs") >= 1
    assert (folder / "figure4.png").exists() and (folder / "figure4.pdf").exists()
