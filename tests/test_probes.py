"""The probe commands end to end at a tiny scale: the estimates are written, printed and gathered per β,
with their validity flags and never a NaN; the robust principal components and the table of a failed estimate.

Plumbing only (1-epoch networks, 1-epoch estimators): the estimators' accuracy is tests/test_estimators.py's.
"""

import pytest
import json
import math
import re

import numpy as np

from test_scripts import run


def _no_nan(text: str):
    """The JSON of ``text``, refusing NaN and infinities (a failed estimate must be null)."""
    def refuse(constant):
        raise AssertionError(f"{constant} in a results file")
    return json.loads(text, parse_constant=refuse)


# CI leaves this out: the occluded probe_sweep below runs the same measurements (infodropout.paper.cli.probes) for
# every β, and the tiny reproduction runs cifar.py's probe_sweep (probes-figure5).
@pytest.mark.slow
@pytest.mark.slow_extra
def test_cifar_probe_on_the_mnist_stand_in_writes_its_estimates(tmp_path):
    values = ["dataset=sample", "sample_test=700", "num_train=300", "filter_percentage=0.05", "epochs=1",
              "batch_size=50", "estimator_epochs=1", "verbose=0"]
    trained = run("cifar.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    probed = run("cifar.py", "probe", "with", *values, cwd=tmp_path)
    assert probed.returncode == 0, probed.stderr
    result = _no_nan(next((tmp_path / "plots").glob("cifar.*/probes.json")).read_text())
    assert result["samples"] == 700 and result["min_critic_steps"] >= 300
    for mode in ("N", "D"):
        for kind in ("linear", "mlp"):
            assert 0 <= result[f"{mode}.{kind}_task_error"] <= 100
            assert 0 <= result[f"{mode}.{kind}_task_train_error"] <= 100 and result[f"{mode}.{kind}_task_ce"] > 0
        assert math.isfinite(result[f"{mode}.mi_task"]) and result[f"{mode}.mi_task_stderr"] > 0
        assert isinstance(result[f"{mode}.mi_task_valid"], bool)
        # Barber–Agakov: H(y) − cross-entropy of the better probe, at most H(y).
        assert result[f"{mode}.ba_task"] <= result["label_entropy_task"] and result[f"{mode}.ba_task_probe"] in (
            "linear", "mlp")
    assert result["N.infonce_task"] <= result["N.infonce_task_ceiling"] + 1e-9
    assert math.log(700 * 0.3) == pytest.approx(result["N.infonce_task_ceiling"], abs=0.01)
    assert math.isfinite(result["ndm"]) and "sanity" in result["kl_check"]
    layers = [key[:-3] for key in result if key.endswith(".kl")]
    assert len(layers) == 2 and all(result[f"{layer}.kl"] > 0 for layer in layers)
    assert re.search(r"^\| linear probe error, task \(%\) \| \d+\.\d+ \| \d+\.\d+ \|$", probed.stdout, re.MULTILINE)
    assert "NDM of the last dropout layer" in probed.stdout and "Barber–Agakov I(z; task)" in probed.stdout


@pytest.mark.slow
def test_occluded_probe_sweep_gathers_the_nuisance_estimates_per_beta(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "datasets").mkdir()
    for split, n in (("train", 120), ("test", 200)):  # stand-in arrays in the real layout: plumbing only
        np.savez(tmp_path / "datasets" / f"occluded-cifar-{split}.npz",
                 data=rng.normal(size=(n, 32, 32, 3)).astype("float32"), labels=rng.integers(0, 10, size=n),
                 nuisance_labels=rng.integers(0, 10, size=n))
    # Plumbing only, so the critics take 50 steps rather than their 500 (min_critic_steps, recorded below).
    values = ["filter_percentage=0.05", "epochs=1", "batch_size=30", "estimator_epochs=1", "min_critic_steps=50",
              "verbose=0"]
    swept = run("occluded.py", "probe_sweep", "with", *values, "betas=[0.5,3.0]", cwd=tmp_path)
    assert swept.returncode == 0, swept.stderr
    folder = next((tmp_path / "plots").glob("occluded-probe-sweep*"))
    results = _no_nan((folder / "results.json").read_text())
    assert [r["beta"] for r in results] == [0.5, 3.0]
    assert [r["min_critic_steps"] for r in results] == [50, 50]
    for result in results:
        assert all(0 <= result[f"{mode}.{kind}_nuisance_error"] <= 100 for mode in "ND" for kind in ("linear", "mlp"))
        for key in ("N.mi_nuisance", "N.infonce_nuisance", "N.ba_nuisance"):
            assert isinstance(result[f"{key}_valid"], bool)
            assert result[key] is not None or (result[f"{key}_valid"] is False and result[f"{key}_reason"])
    assert {"probe-task-error.png", "probe-nuisance-error.png", "mine.png", "ndm.png", "kl-vs-mine.pdf",
            "bounds-nuisance.png"} <= {p.name for p in folder.iterdir()}
    assert "MINE I(z; nuisance)" in swept.stdout


def test_principal_components_are_not_captured_by_a_few_outlying_rows():
    from infodropout.paper.cli.probes import principal_components

    rng = np.random.default_rng(0)
    values = rng.normal(size=(2000, 100)) * np.where(np.arange(100) < 3, 5.0, 1.0)  # 3 wide directions
    values[:4, 50] = 1e4  # 4 rows far out along a direction of unit spread
    components = principal_components(values, count=3)
    # The 3 components span the 3 wide directions (0, 1, 2), not the outliers' 50th.
    loadings = np.linalg.lstsq(values[4:], components[4:], rcond=None)[0]
    assert (loadings[:3] ** 2).sum() > 0.95 * (loadings ** 2).sum()
    assert np.abs(loadings[50]).max() < 0.05


def test_the_probe_table_shows_failed_and_invalid_estimates_without_a_number():
    from infodropout.paper.cli.probes import probe_table
    from infodropout.estimation_tools import Estimate

    result = {"label_entropy_task": 2.3, "ndm": 0.1, "ndm_stderr": 0.01, "ndm_valid": True, "layer1.kl": 800.0}
    result.update(Estimate(0.5, 0.05, valid=False, reason="not converged: x").fields("layer1.mine_x_z"))
    result.update(Estimate(7.9, 0.01, ceiling=8.0).fields("layer1.infonce_x_z"))
    for mode in "ND":
        result.update(Estimate.failed("the critic's training diverged").fields(f"{mode}.mi_task"))
        result.update(Estimate(1.2, 0.1).fields(f"{mode}.ba_task"))
        result[f"{mode}.ba_task_probe"] = "mlp"
        for kind in ("linear", "mlp"):
            result.update({f"{mode}.{kind}_task_error": 20.0, f"{mode}.{kind}_task_train_error": 10.0})
            result.update(Estimate(0.6, 0.02).fields(f"{mode}.{kind}_task_ce"))
    result.update(Estimate(1.0, 0.1, ceiling=8.0).fields("N.infonce_task"))
    table = probe_table(result)
    assert "| MINE I(z; task) (nats) | failed (the critic's training diverged) |" in table
    assert "800.00 / 0.500 ± 0.050 [invalid: not converged: x] / 7.900 ± 0.010 (ceiling 8.00) [invalid: at its " \
           "ceiling" in table
    assert "nan" not in table.lower()

