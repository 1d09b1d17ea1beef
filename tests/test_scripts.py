"""The command line as a user types it: print_config, train then test, correlation, bad values.

The CIFAR runs read a few hundred random images written in the real cifar10-*.npz layout: they
check the plumbing (files, names, numbers printed), not any result.
"""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar")
    (folder / "datasets").mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("test", 700)):
        np.savez(folder / "datasets" / f"cifar10-{split}.npz",
                 data=rng.normal(size=(n, 32, 32, 3)).astype("float32"), labels=rng.integers(0, 10, size=n))
    return folder


# A 1-epoch All-CNN-32 with 5 % of the filters: its last dropout layer has 8·8·9 = 576 units, fewer
# than the 700 test images, so the total correlation's covariance can be full rank.
TINY_CIFAR = ["softplus", "filter_percentage=0.05", "epochs=1", "batch_size=50", "beta=1.0", "verbose=0"]


def test_print_config_shows_the_paper_defaults(tmp_path):
    result = run("cifar.py", "print_config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line in ("beta = 3.0", "dropout = 'information'", "max_alpha = 0.7", "learning_rate = 0.05",
                 "epochs = 200", "weight_decay = 0.001"):
        assert line in result.stdout


@pytest.mark.slow
def test_cifar_train_then_test_then_correlation(cifar_dir):
    trained = run("cifar.py", "train", "with", *TINY_CIFAR, cwd=cifar_dir)
    assert trained.returncode == 0, trained.stderr
    name = "cifar.activations=softplus.batch_size=50.beta=1.0.epochs=1.filter_percentage=0.05.prior=log_normal"
    checkpoint = cifar_dir / "models" / f"{name}.keras"
    assert checkpoint.exists()
    history = [json.loads(line) for line in (cifar_dir / "models" / f"{name}.history.jsonl").read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1] and {"loss", "Lx", "Lz", "error"} <= set(history[0])
    train_error = float(re.search(r"Test: .*error (\d+\.\d+)", trained.stdout).group(1))

    tested = run("cifar.py", "test", "with", *TINY_CIFAR, cwd=cifar_dir)
    assert tested.returncode == 0, tested.stderr
    assert float(re.search(r"Test: .*error (\d+\.\d+)", tested.stdout).group(1)) == pytest.approx(train_error, abs=1e-3)

    correlated = run("cifar.py", "correlation", "with", *TINY_CIFAR, cwd=cifar_dir)
    assert correlated.returncode == 0, correlated.stderr
    tc = float(re.search(r"Total correlation: (-?\d+\.\d+)", correlated.stdout).group(1))
    assert math.isfinite(tc) and tc >= 0


def test_test_without_a_trained_run_says_how_to_get_one(cifar_dir):
    result = run("cifar.py", "test", "with", "beta=2.5", "verbose=0", cwd=cifar_dir)
    assert result.returncode != 0
    assert "no checkpoint" in result.stderr and "beta=2.5" in result.stderr


@pytest.mark.parametrize("value, key", [
    ("dropout=gaussian", "dropout"), ("beta=-1.0", "beta"), ("filter_percentage=1.5", "filter_percentage"),
    ("filter_percentage=0", "filter_percentage"), ("max_alpha=0", "max_alpha"), ("epochs=0", "epochs"),
])
def test_invalid_values_exit_at_once_with_one_line_naming_the_key(tmp_path, value, key):
    result = run("cifar.py", "train", "with", value, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{key}=" in lines[0]
    assert not (tmp_path / "models").exists()


# Slow (four runs, then the sweep's reuse of them); CI runs it: the demo's command, and the only test of an
# observer's artifacts.
@pytest.mark.slow
def test_mnist_fc_compare_prints_a_table_of_errors(tmp_path):
    result = run("mnist_fc.py", "compare", "with", "dataset=sample", "methods=[information,binary]", "widths=[16]",
                 "seeds=[0,1]", "epochs=1", "num_train=300", "num_test=200", "verbose=0", "-F", "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    row = re.search(r"^\| 16 \| (\d+\.\d+) ± (\d+\.\d+) \| (\d+\.\d+) ± (\d+\.\d+) \| (\d+\.\d) \| (\d+\.\d) \|$",
                    result.stdout, re.MULTILINE)
    assert row and all(0 <= float(e) <= 100 for e in row.groups())
    assert len(list((tmp_path / "models").glob("*.keras"))) == 4  # 2 methods × 2 seeds
    folder = next((tmp_path / "plots").glob("mnist_fc-sweep*"))
    results = json.loads((folder / "results.json").read_text())
    assert sorted((r["dropout"], r["seed"]) for r in results) == [("binary", 0), ("binary", 1),
                                                                   ("information", 0), ("information", 1)]
    for r in results:  # dead units per layer, and the worst layer's share
        shares = [r[f"dense{i}.dead_fraction"] if r["dropout"] == "binary" else r[f"information_dropout{i}.dead_fraction"]
                  for i in (1, 2, 3)]
        assert all(0 <= share <= 1 for share in shares) and r["dead_fraction_max"] == max(shares)
    history = [json.loads(line) for line in next((tmp_path / "models").glob("*binary*.history.jsonl")).read_text().splitlines()]
    assert all(0 <= history[-1][f"dense{i}.dead_fraction"] <= 1 for i in (1, 2, 3))
    assert (folder / "figure3a.png").exists() and (folder / "figure3a.pdf").exists()
    # With an observer (-F runs), the run keeps every file it wrote as an artifact: networks, histories, figures.
    artifacts = json.loads((tmp_path / "runs" / "1" / "run.json").read_text())["artifacts"]
    assert sum(name.endswith(".keras") for name in artifacts) == 4
    assert sum(name.endswith(".history.jsonl") for name in artifacts) == 4
    assert {f"{folder.name}__{name}" for name in ("figure3a.png", "figure3a.pdf", "results.json")} <= set(artifacts)
    assert all((tmp_path / "runs" / "1" / name).is_file() for name in artifacts)
    # `sweep` is the same command under the other scripts' name: the same runs, reused, the same table.
    again = run("mnist_fc.py", "sweep", "with", "dataset=sample", "methods=[information,binary]", "widths=[16]",
                "seeds=[0,1]", "epochs=1", "num_train=300", "num_test=200", "verbose=0", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert row.group(0) in again.stdout and "Run " not in again.stdout


def test_every_config_key_is_in_the_docs_config_reference():
    import importlib

    page = (ROOT / "docs" / "experiments.md").read_text()
    table = page[page.index("## Config reference"):page.index("## Interrupting and resuming")]
    for script in ("cifar", "cluttered", "mnist_fc", "occluded", "vae"):
        module = importlib.import_module(f"infodropout.paper.experiments.{script}")
        for key in module.DEFAULTS:
            assert f"`{key}`" in table, f"{script}.py's {key} is missing from docs/experiments.md's config reference"


# CI leaves this out: the tiny reproduction trains Cluttered MNIST runs and plots their heatmaps (figure2-beta*).
@pytest.mark.slow
@pytest.mark.slow_extra
def test_cluttered_train_then_plot_writes_heatmaps_and_scores(tmp_path):
    values = ["digits=sample", "num_train=100", "num_test=40", "epochs=1", "filter_percentage=0.1", "plot_images=2",
              "verbose=0"]
    trained = run("cluttered.py", "train", "with", *values, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert list((tmp_path / "datasets").glob("cluttered-sample-*"))  # generated from the embedded sample
    plotted = run("cluttered.py", "plot", "with", *values, cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    folder = next((tmp_path / "plots").iterdir())
    assert len(list(folder.glob("image*-*.png"))) == 2 * (1 + 4) and (folder / "heatmaps.pdf").exists()
    # Per layer: the KL map's mass and peak scores, each beside its two ink baselines.
    scores = re.findall(r"^\| information_dropout\d \| \d+×\d+ \|" + r" (\d\.\d+) \|" * 6 + "$", plotted.stdout,
                        re.MULTILINE)
    assert len(scores) == 4 and all(0 <= float(v) <= 1 for row in scores for v in row)


def test_run_names_follow_the_changed_values_only():
    from infodropout.paper.train.run_names import run_name

    defaults = {"beta": 3.0, "filter_percentage": 1.0, "dropout": "information", "models_dir": "models",
                "plot_images": 5, "verbose": "auto"}
    changed = {**defaults, "filter_percentage": 0.25, "beta": 1.0, "models_dir": "elsewhere", "plot_images": 9}
    assert run_name("cifar", defaults, defaults) == "cifar"
    assert run_name("cifar", changed, defaults) == "cifar.beta=1.0.filter_percentage=0.25"
    assert run_name("cifar", {"lr_drops": [12, 16]}, {"lr_drops": [80, 120]}) == "cifar.lr_drops=[12,16]"


# CI leaves this out: the tiny reproduction runs the same cluttered.py sweep (figure2-sweep).
@pytest.mark.slow
@pytest.mark.slow_extra
def test_cluttered_sweep_keeps_results_and_draws_localisation_against_beta(tmp_path):
    values = ["digits=sample", "num_train=60", "num_test=20", "epochs=1", "filter_percentage=0.1", "verbose=0"]
    result = run("cluttered.py", "sweep", "with", *values, "betas=[0.01,0.5]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "plots").glob("cluttered-sweep*"))
    results = json.loads((folder / "results.json").read_text())
    assert [r["beta"] for r in results] == [0.01, 0.5]
    assert all(0 <= r["information_dropout2.mass_inside"] <= 1 for r in results)
    assert {p.name for p in folder.iterdir()} >= {"localisation_mass.png", "localisation_peak.pdf", "error.png"}
    again = run("cluttered.py", "sweep", "with", *values, "betas=[0.01,0.5]", cwd=tmp_path)
    assert again.returncode == 0 and "Run " not in again.stdout  # both β were reused from results.json


# CI leaves this out: the tiny reproduction runs cifar.py's β and filter_percentage sweeps and its histograms
# (figure5, figure3b-6, figure1-*).
@pytest.mark.slow
@pytest.mark.slow_extra
def test_cifar_histograms_and_both_sweeps_write_their_figures(cifar_dir):
    tiny = ["filter_percentage=0.05", "epochs=1", "batch_size=50", "verbose=0"]
    assert run("cifar.py", "train", "with", "softplus", *tiny, cwd=cifar_dir).returncode == 0
    drawn = run("cifar.py", "histograms", "with", "softplus", *tiny, cwd=cifar_dir)
    assert drawn.returncode == 0, drawn.stderr
    assert list((cifar_dir / "plots").glob("cifar.*/histogram.pdf"))
    summary = json.loads(next((cifar_dir / "plots").glob("cifar.*/histogram.json")).read_text())
    assert summary["prior"] == "log_normal" and summary["prior_std"] > 0 and summary["zero_fraction"] == 0.0
    # Beside log z's shape, the noise-free log f(x)'s, and how much of log z's variance is the injected noise.
    assert 0.0 < summary["noise_variance_share"] < 1.0 and summary["f_ks_normal"] >= 0.0
    by_beta = run("cifar.py", "sweep", "with", "softplus", *tiny, "betas=[1.0,3.0]", cwd=cifar_dir)
    assert by_beta.returncode == 0, by_beta.stderr
    folder = next((cifar_dir / "plots").glob("cifar-sweep.activations=softplus*"))
    results = json.loads((folder / "results.json").read_text())
    assert [r["beta"] for r in results] == [1.0, 3.0]
    # β = 3 is the run histograms read (the default): the sweep tested it by the protocol, and histograms' training
    # error, read from the checkpoint, is the same number (the network read as tested, batch norm recalibrated).
    assert summary["train_error"] == pytest.approx(results[1]["train_error"], abs=1e-6)
    for r in results:  # the corrected value is the raw one minus its bias, which is positive
        assert r["total_correlation_bias"] > 0
        assert math.isfinite(r["total_correlation_f"]) and 0.0 < r["noise_variance_share"] < 1.0
        assert abs(r["total_correlation_raw"] - r["total_correlation_bias"] - r["total_correlation"]) < 1e-9
    assert (folder / "figure5-error.png").exists() and (folder / "figure5-tc.pdf").exists()
    by_width = run("cifar.py", "sweep", "with", "sweep_over=filter_percentage", "filter_percentages=[0.05,0.1]",
                   "methods=[information,none]", "epochs=1", "batch_size=50", "verbose=0", cwd=cifar_dir)
    assert by_width.returncode == 0, by_width.stderr
    folder = cifar_dir / "plots" / "cifar-sweep.batch_size=50.epochs=1"
    results = json.loads((folder / "results.json").read_text())
    assert len(results) == 4 and all(r["information_dropout2.per_unit"] > 0 for r in results if r["dropout"] == "information")
    assert {"figure3b.png", "figure6-total.pdf", "figure6-per_unit.png"} <= {p.name for p in folder.iterdir()}
