"""The probe commands end to end at a tiny scale: the estimates are written, printed and gathered per β.

Plumbing only (1-epoch networks, 1-epoch estimators): the estimators' accuracy is tests/test_estimators.py's.
"""

import pytest
import json
import math
import re

import numpy as np

from test_scripts import run


@pytest.mark.slow
def test_cifar_probe_on_the_mnist_stand_in_writes_its_estimates(tmp_path):
    values = ["dataset=sample", "sample_test=700", "num_train=300", "filter_percentage=0.05", "epochs=1",
              "batch_size=50", "estimator_epochs=1", "verbose=0"]
    trained = run("cifar.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    probed = run("cifar.py", "probe", "with", *values, cwd=tmp_path)
    assert probed.returncode == 0, probed.stderr
    result = json.loads(next((tmp_path / "plots").glob("cifar.*/probes.json")).read_text())
    assert result["samples"] == 700
    for mode in ("N", "D"):
        for kind in ("linear", "mlp"):
            assert 0 <= result[f"{mode}.{kind}_task_error"] <= 100
        assert math.isfinite(result[f"{mode}.mi_task"]) and result[f"{mode}.mi_task_stderr"] > 0
    assert math.isfinite(result["ndm"])
    layers = [key[:-3] for key in result if key.endswith(".kl")]
    assert len(layers) == 2 and all(result[f"{layer}.kl"] > 0 for layer in layers)
    assert re.search(r"^\| linear probe error, task \(%\) \| \d+\.\d+ \| \d+\.\d+ \|$", probed.stdout, re.MULTILINE)
    assert "NDM of the last dropout layer" in probed.stdout


@pytest.mark.slow
def test_occluded_probe_sweep_gathers_the_nuisance_estimates_per_beta(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "datasets").mkdir()
    for split, n in (("train", 120), ("test", 200)):  # stand-in arrays in the real layout: plumbing only
        np.savez(tmp_path / "datasets" / f"occluded-cifar-{split}.npz",
                 data=rng.normal(size=(n, 32, 32, 3)).astype("float32"), labels=rng.integers(0, 10, size=n),
                 nuisance_labels=rng.integers(0, 10, size=n))
    values = ["filter_percentage=0.05", "epochs=1", "batch_size=30", "estimator_epochs=1", "verbose=0"]
    swept = run("occluded.py", "probe_sweep", "with", *values, "betas=[0.5,3.0]", cwd=tmp_path)
    assert swept.returncode == 0, swept.stderr
    folder = next((tmp_path / "plots").glob("occluded-probe-sweep*"))
    results = json.loads((folder / "results.json").read_text())
    assert [r["beta"] for r in results] == [0.5, 3.0]
    for result in results:
        assert all(0 <= result[f"{mode}.{kind}_nuisance_error"] <= 100 for mode in "ND" for kind in ("linear", "mlp"))
        assert math.isfinite(result["N.mi_nuisance"])
    assert {"probe-task-error.png", "probe-nuisance-error.png", "mine.png", "ndm.png", "kl-vs-mine.pdf"} \
        <= {p.name for p in folder.iterdir()}
    assert "MINE I(z; nuisance)" in swept.stdout
