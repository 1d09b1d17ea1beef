"""Dead ReLU units: a unit whose output is 0 on every probe input is counted, a unit active on one is not."""
import keras
import numpy as np
import pytest

from infodropout.callbacks import DeadUnitMonitor
from infodropout.kl import ALPHA_FLOOR
from infodropout.models import fully_connected
from infodropout.readouts import dead_unit_fractions, relu_layers


def test_dead_unit_fractions_counts_exactly_the_units_silenced_by_their_bias():
    network = fully_connected(8, depth=2, input_shape=(4,), dropout="none")
    first = network.get_layer("dense1")
    kernel, bias = first.get_weights()
    kernel[:] = np.abs(kernel)  # inputs are >= 0, so the sign of each pre-activation is set by its bias
    bias[:] = 1.0
    bias[[1, 4, 6]] = -1e6  # three of eight units can never fire
    first.set_weights([kernel, bias])
    x = np.random.default_rng(0).uniform(0, 1, size=(50, 4)).astype("float32")
    fractions = dead_unit_fractions(network, x, batch_size=16)
    assert set(fractions) == {"dense1", "dense2"}
    assert fractions["dense1"] == 3 / 8
    # A unit that fires on a single probe input is alive: unit 0 gets a bias that lets only the largest input through.
    pre = x @ kernel[:, 0]
    bias[0] = -np.sort(pre)[-2]  # positive only for the one largest pre-activation
    first.set_weights([kernel, bias])
    assert dead_unit_fractions(network, x)["dense1"] == 3 / 8
    bias[0] = -pre.max() - 1.0
    first.set_weights([kernel, bias])
    assert dead_unit_fractions(network, x)["dense1"] == 4 / 8


def test_information_dropout_layers_are_read_without_noise_and_the_monitor_logs_them():
    network = fully_connected(6, depth=3, input_shape=(5,), dropout="information")
    assert [layer.name for layer in relu_layers(network)] == [f"information_dropout{i}" for i in (1, 2, 3)]
    inner = network.get_layer("information_dropout2").layer
    kernel, bias = inner.get_weights()
    inner.set_weights([np.zeros_like(kernel), np.full_like(bias, -1.0)])  # every unit of layer 2 is dead
    x = np.random.default_rng(1).normal(size=(40, 5)).astype("float32")
    logs = {}
    monitor = DeadUnitMonitor(x, network)
    monitor.on_epoch_end(0, logs)
    assert logs["information_dropout2.dead_fraction"] == 1.0
    # Layer 3 then sees only zeros, and its zero-initialised biases keep every output at ReLU(0) = 0.
    assert logs["information_dropout3.dead_fraction"] == 1.0
    assert 0.0 <= logs["information_dropout1.dead_fraction"] < 1.0
    assert relu_layers(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])) == []


# Slow (six runs, each in a process); CI runs it: the only test of choose_lr.
@pytest.mark.slow
def test_choose_lr_chooses_each_method_on_held_out_training_images_then_tests_its_rate(tmp_path):
    import json

    from test_scripts import run

    values = ["dataset=sample", "num_train=300", "num_test=200", "epochs=1", "lr_drops=[]", "widths=[16]",
              "methods=[information,binary]", "validation=100", "learning_rates=[0.07,0.01]", "seeds=[0]",
              "verbose=0"]
    chosen = run("mnist_fc.py", "choose_lr", "with", *values, cwd=tmp_path)
    assert chosen.returncode == 0, chosen.stderr
    # The trials train on 200 images (100 held out of the 300); the test runs at the chosen rates on all 300.
    assert "200 training and 200 test examples" in chosen.stdout and "300 training and 200 test" in chosen.stdout
    folder = next((tmp_path / "plots").glob("mnist_fc-lr-sweep.*"))
    results = json.loads((folder / "results.json").read_text())
    choice = json.loads((folder / "choice.json").read_text())
    assert {(c["dropout"], c["width"]) for c in choice["chosen"]} == {("information", 16), ("binary", 16)}
    for cell in choice["chosen"]:
        trials = [r for r in results if r["validation"] == 100 and r["dropout"] == cell["dropout"]]
        assert sorted(r["learning_rate"] for r in trials) == [0.01, 0.07]
        # The lowest validation error, whatever the dead units.
        assert cell["learning_rate"] == min(trials, key=lambda r: r["validation_error"])["learning_rate"]
        [final] = [r for r in results if r["validation"] == 0 and r["dropout"] == cell["dropout"]]
        assert final["learning_rate"] == cell["learning_rate"] and "validation_error" not in final
    # Information Dropout's runs record each layer's mean α, inside its bounds.
    info = [r for r in results if r["dropout"] == "information"]
    assert all(0.0 < r["information_dropout1.alpha_mean"] <= 0.7 + ALPHA_FLOOR for r in info)
    assert not any("alpha_mean" in key for r in results if r["dropout"] == "binary" for key in r)
    assert "| information | 16 |" in chosen.stdout and "| binary | 16 |" in chosen.stdout
    refused = run("mnist_fc.py", "choose_lr", "with", "dataset=sample", cwd=tmp_path)
    assert refused.returncode == 2 and "validation=N" in refused.stderr
