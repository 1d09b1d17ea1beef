"""Figure 4's nuisance probe: it fits what it is shown, reads a frozen network's noisy z and representation, and
comes with its baselines (chance and an untrained network)."""

import numpy as np
import pytest

from infodropout.models import all_cnn_32
from infodropout.paper.data.formats import OccludedDataset
from infodropout.paper.train.nuisance import (
    CHANCE_ERROR, ProbeSchedule, last_dropout_layer, nuisance_features, probe_errors, train_nuisance_probe,
)
from infodropout.paper.train.checkpoint import read_history


def test_the_schedule_has_no_weight_decay_and_drops_the_rate_at_three_quarters():
    settings = ProbeSchedule(epochs=20, learning_rate=1e-3).settings()
    assert settings.weight_decay == 0 and settings.optimizer == "adam"
    assert tuple(settings.lr_drops) == (15,) and settings.learning_rate == 1e-3
    assert tuple(ProbeSchedule(epochs=1).settings().lr_drops) == ()  # one epoch: all of it at the rate


def test_the_probe_fits_an_easy_separable_target_far_below_chance(tmp_path):
    # Ten classes, each a different 2×2 patch lit on a noisy 4×4×3 map: separable, but only by reading where.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=300)
    features = rng.normal(scale=0.3, size=(300, 4, 4, 3)).astype("float32")
    for index, label in enumerate(labels):
        features[index, label // 4, label % 4, label % 3] += 3.0
    schedule = ProbeSchedule(epochs=12, learning_rate=3e-3, batch_size=30)
    probe = train_nuisance_probe(features, labels, schedule, tmp_path / "probe.keras", verbose=0)
    predicted = np.argmax(probe.predict(features, verbose=0), axis=-1)
    training_error = 100 * np.mean(predicted != labels)
    assert training_error < 20 < CHANCE_ERROR == pytest.approx(90.0)
    # Trained as any run is: 12 epochs in the history, no weight decay in its loss.
    records = read_history(tmp_path / "probe.history.jsonl")
    assert len(records) == 12 and records[-1]["error"] < records[0]["error"]


def test_the_features_are_z_and_the_representation_noisy_and_the_network_stays_frozen():
    network = all_cnn_32(0.1, dropout="information", input_keep_prob=0.8)
    x = np.random.default_rng(1).normal(size=(8, 32, 32, 3)).astype("float32")
    before = [v.numpy().copy() for v in network.variables if "seed_generator" not in v.path]
    assert last_dropout_layer(network).name == "information_dropout2"
    first, second = nuisance_features(network, x, batch_size=4), nuisance_features(network, x, batch_size=4)
    z_channels = last_dropout_layer(network).output.shape[-1]
    assert first.shape == (8, 8, 8, z_channels + network.get_layer("representation").output.shape[-1])
    assert not np.allclose(first, second)  # one noise draw per image and pass: the noise is on
    after = [v.numpy() for v in network.variables if "seed_generator" not in v.path]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # batch-norm statistics included
    plain = all_cnn_32(0.1, dropout="none")
    assert last_dropout_layer(plain) is None
    assert nuisance_features(plain, x[:2]).shape[-1] == plain.get_layer("representation").output.shape[-1]


def test_probe_errors_give_the_test_and_the_training_error(tmp_path):
    network = all_cnn_32(0.1, dropout="binary", input_keep_prob=1.0)
    rng = np.random.default_rng(2)
    x, nuisance = rng.normal(size=(40, 32, 32, 3)).astype("float32"), rng.integers(0, 10, size=40)
    test_error, train_error = probe_errors(network, x[:30], nuisance[:30], x[30:], nuisance[30:],
                                           ProbeSchedule(epochs=1, batch_size=10), tmp_path / "p.keras", verbose=0)
    assert 0 <= test_error <= 100 and 0 <= train_error <= 100
    assert test_error * 10 % 100 == pytest.approx(0, abs=1e-6)  # a whole number of the 10 test images


@pytest.mark.slow
def test_the_occluded_script_reports_the_probe_with_its_baselines(tmp_path):
    """occluded.nuisance_errors in process, on stand-in arrays: every key of figure 4's rows is produced."""
    from infodropout.paper.experiments import occluded
    from infodropout.paper.train.runs import all_cnn_32_network

    rng = np.random.default_rng(3)
    data = OccludedDataset(rng.normal(size=(60, 32, 32, 3)).astype("float32"), rng.integers(0, 10, size=60),
                           rng.normal(size=(20, 32, 32, 3)).astype("float32"), rng.integers(0, 10, size=20),
                           rng.integers(0, 10, size=60), rng.integers(0, 10, size=20))
    config = {**occluded.DEFAULTS, "filter_percentage": 0.1, "probe_epochs": 1, "batch_size": 20, "verbose": 0,
              "models_dir": str(tmp_path), "beta": 0.5}
    network = all_cnn_32_network(config, len(data.x_train))
    result = occluded.nuisance_errors(config, network, data)
    assert result["nuisance_chance"] == pytest.approx(90.0)
    for key in ("main_error_N", "main_error_D", "nuisance_error", "nuisance_train_error", "nuisance_error_random",
                "nuisance_train_error_random"):
        assert 0 <= result[key] <= 100, key
    # The untrained network's probe is kept under the run's name at the default β, shared by every β of a seed.
    assert len(list(tmp_path.glob("occluded.*nuisance-probe-e1-lr0.003-random.keras"))) == 1
    assert not any("beta=0.5" in path.name for path in tmp_path.glob("*-random.keras"))
    again = occluded.nuisance_errors({**config, "beta": 2.0}, network, data)
    assert again["nuisance_error_random"] == pytest.approx(result["nuisance_error_random"], abs=100 / 20 + 1e-9)
