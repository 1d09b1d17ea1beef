"""The paper's objective as a library piece (infodropout.objective) with plain ``fit`` and ``evaluate``: each term
against its closed form, the weight decay's gradient, sample weights, the logs, and ``kl_weights``."""

import keras
import numpy as np
import pytest
from keras import ops

from infodropout import (AlphaMonitor, InformationBottleneck, InformationDropout, information_dropout_layers,
                         kl_weights)
from infodropout.callbacks import DeadUnitMonitor
from infodropout.readouts import dead_unit_fractions, layer_readouts

RNG = np.random.default_rng(3)


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def small_network(beta: float, n_train: int, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6,))
    h = InformationDropout(keras.layers.Dense(12), kl_weight=beta / n_train, activation="relu", seed=1)(inputs)
    h = InformationDropout(keras.layers.Dense(8), kl_weight=beta / n_train, activation="softplus", seed=2)(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


def test_the_logged_terms_are_the_cross_entropy_the_weighted_kl_and_half_the_squared_weights():
    beta, n_train, weight_decay = 3.0, 500, 0.01
    network = small_network(beta, n_train)
    model = InformationBottleneck(network, weight_decay=weight_decay)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.normal(size=(40, 6)).astype("float32")
    y = RNG.integers(0, 3, size=40)
    logs = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)

    logits = numpy(network(x, training=False))
    lx = cross_entropy(logits.astype("float64"), y).mean()
    # The KL of each layer from its own read-out: Σ over units, mean over the batch, times β / N.
    h = x
    lz = 0.0
    for layer in information_dropout_layers(network):
        f, alpha = layer.activations_and_alpha(h, training=False)
        kl = numpy(layer.kl_divergence(f, alpha))
        lz += beta / n_train * kl.reshape(len(kl), -1).sum(axis=1).mean()
        h = f
    l2 = sum(float(np.sum(numpy(w).astype("float64") ** 2)) for w in model.trainable_variables) / 2
    assert logs["Lx"] == pytest.approx(lx, rel=1e-5)
    assert logs["Lz"] == pytest.approx(lz, rel=1e-5)
    assert logs["loss"] == pytest.approx(lx + lz + weight_decay * l2, rel=1e-5)
    assert lz > 0.01 * lx  # the KL term is large enough here for the check to see it


def test_doubling_beta_in_the_layers_doubles_lz_and_nothing_else():
    x = RNG.normal(size=(20, 6)).astype("float32")
    y = RNG.integers(0, 3, size=20)
    logs = {}
    for beta in (1.0, 2.0):
        model = InformationBottleneck(small_network(beta, 100))
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        logs[beta] = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    assert logs[2.0]["Lz"] == pytest.approx(2 * logs[1.0]["Lz"], rel=1e-5)
    assert logs[2.0]["Lx"] == pytest.approx(logs[1.0]["Lx"], rel=1e-6)


def test_one_sgd_step_of_weight_decay_alone_shrinks_each_weight_by_learning_rate_times_weight_decay():
    # x = 0 and y = the bias: the task loss is 0 with a zero gradient, so the step is the weight decay's alone:
    # ∂(wd · Σw²/2)/∂w = wd · w, hence w ← w (1 − lr · wd).
    network = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, kernel_initializer="ones",
                                                                       bias_initializer="ones")])
    model = InformationBottleneck(network, weight_decay=0.1)
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(np.zeros((8, 4), "float32"), np.ones((8, 2), "float32"), batch_size=8, epochs=1, verbose=0)
    for weight in network.trainable_variables:
        np.testing.assert_allclose(numpy(weight), np.full(weight.shape, 1 - 0.5 * 0.1), rtol=1e-6)


def test_sample_weights_weight_the_task_loss_as_keras_does():
    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones",
                                                                       use_bias=False)])
    model = InformationBottleneck(network)
    model.compile("sgd", "mse")
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], "float32")  # outputs 1, 2, 2
    y = np.zeros((3, 1), "float32")
    weights = np.array([1.0, 0.0, 3.0], "float32")
    logs = model.evaluate(x, y, sample_weight=weights, batch_size=3, verbose=0, return_dict=True)
    assert logs["Lx"] == pytest.approx((1 * 1 + 0 * 4 + 3 * 4) / 3, rel=1e-6)  # Σ w·l / n, Keras's default


def test_fit_logs_loss_lx_lz_and_the_compiled_metrics_and_learns():
    beta, n_train = 1.0, 300
    centers = RNG.normal(scale=3.0, size=(3, 6))
    y = RNG.integers(0, 3, size=n_train)
    x = (centers[y] + RNG.normal(size=(n_train, 6))).astype("float32")
    model = InformationBottleneck(small_network(beta, n_train), weight_decay=1e-4)
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=50, epochs=8, verbose=0).history
    assert sorted(history) == ["Lx", "Lz", "accuracy", "loss"]
    assert history["Lx"][-1] < 0.5 * history["Lx"][0]
    assert history["accuracy"][-1] > 0.8
    assert all(value > 0 for value in history["Lz"])


def test_the_monitors_read_the_network_inside_the_objective_during_fit():
    # The two features used together as the paper's scripts use them: no network=... argument.
    n_train = 120
    network = small_network(1.0, n_train)
    model = InformationBottleneck(network, weight_decay=1e-4)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.normal(size=(n_train, 6)).astype("float32")
    y = RNG.integers(0, 3, size=n_train)
    history = model.fit(x, y, batch_size=40, epochs=2, verbose=0,
                        callbacks=[AlphaMonitor(x[:60]), DeadUnitMonitor(x[:60])]).history
    for layer in information_dropout_layers(network):
        assert len(history[f"{layer.name}.alpha_mean"]) == 2
        # The last epoch's value is the trained network's α, read on the network itself.
        alpha = layer_readouts(network, x[:60], layer=layer)["alpha"]
        assert history[f"{layer.name}.alpha_mean"][-1] == pytest.approx(float(alpha.mean()), rel=1e-4)
    dead = dead_unit_fractions(network, x[:60])
    assert dead and all(history[f"{name}.dead_fraction"][-1] == pytest.approx(value) for name, value in dead.items())


def test_the_monitor_says_what_to_pass_where_no_functional_network_is_found():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = InformationDropout(keras.layers.Dense(4), kl_weight=0.0)
            self.out = keras.layers.Dense(2)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs, training=training))

    model = Subclassed()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.normal(size=(8, 6)).astype("float32")
    with pytest.raises(ValueError, match=r"functional API.*network="):
        model.fit(x, np.zeros(8, "int32"), verbose=0, callbacks=[AlphaMonitor(x)])


def test_without_a_compiled_loss_it_says_what_to_pass():
    model = InformationBottleneck(small_network(1.0, 10))
    model.compile("sgd")
    with pytest.raises(ValueError, match=r"compile\(loss=\.\.\.\)"):
        model.evaluate(np.zeros((4, 6), "float32"), np.zeros(4, "int32"), verbose=0)


def test_a_negative_weight_decay_is_refused():
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        InformationBottleneck(small_network(1.0, 10), weight_decay=-1.0)


def test_kl_weights_reads_the_kl_itself_and_restores_the_weights():
    network = small_network(beta=4.0, n_train=200)
    x = RNG.normal(size=(10, 6)).astype("float32")
    network(x, training=False)
    weighted = sum(float(numpy(loss)) for loss in network.losses)
    with kl_weights(network, 1.0):
        network(x, training=False)
        unweighted = sum(float(numpy(loss)) for loss in network.losses)
    assert unweighted == pytest.approx(weighted * 200 / 4.0, rel=1e-5)
    assert [layer.kl_weight for layer in information_dropout_layers(network)] == [4.0 / 200] * 2
