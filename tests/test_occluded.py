"""occluded.py runs end to end (the nuisance probe itself: test_nuisance_probe.py)."""

import json
import re

import numpy as np
import pytest

from test_scripts import run

RNG = np.random.default_rng(0)


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
