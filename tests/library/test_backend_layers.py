"""The library's layers and KL terms on whichever Keras backend runs them: noise statistics, noise_scale, the KL
losses against their closed forms, and the .keras round trip.

This folder imports only keras, numpy and pytest (never tensorflow or scipy), so that tests/test_backends.py can
run it once per installed backend, each in its own process with KERAS_BACKEND set.
"""

import os

import keras
import numpy as np
import pytest
from keras import ops

from infodropout import (BinaryDropout, InformationDropout, LogNormalDropout, information_dropout_layers,
                         kl_gaussian, kl_log_normal, kl_log_uniform, noise_scale)

RNG = np.random.default_rng(0)


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def test_runs_on_the_backend_it_was_asked_for():
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def standardized_log_noise(layer, x, scale=1.0):
    """(log z − log f) / α over the units with f > 0: N(0, scale²) if the noise is right."""
    z = numpy(layer(x, training=True))
    # f as the noisy call saw it: with batch norm, from the batch's statistics.
    f, alpha = (numpy(t) for t in layer.activations_and_alpha(x, training=True))
    active = f > 1e-3
    return (np.log(z[active]) - np.log(f[active])) / alpha[active]


def test_relu_dense_layer_log_noise_is_normal_with_std_alpha_and_its_kl_is_log_uniform():
    layer = InformationDropout(keras.layers.Dense(128), kl_weight=0.25, activation="relu", max_alpha=0.7, seed=7)
    x = RNG.normal(size=(300, 16)).astype("float32")
    n = standardized_log_noise(layer, x)
    # About 19,000 active units: the mean's standard error is ~0.007 and the std's ~0.005.
    assert n.size > 10_000
    assert abs(n.mean()) < 0.04 and n.std() == pytest.approx(1.0, abs=0.03)
    f, alpha = (numpy(t) for t in layer.activations_and_alpha(x))
    assert alpha.min() > 0.001 and alpha.max() < 0.701
    np.testing.assert_array_equal(numpy(layer(x, training=False)), f)
    # The layer's loss: kl_weight · mean over the batch of Σ_units −log(α / (max_alpha + 0.001)).
    layer(x, training=False)
    expected = 0.25 * np.mean(np.sum(-np.log(alpha / 0.701), axis=1))
    assert float(numpy(layer.losses[0])) == pytest.approx(expected, rel=1e-5)


def test_softplus_conv_layer_with_batch_norm_has_the_log_normal_prior_and_its_kl():
    conv = keras.layers.Conv2D(6, 3, strides=2, padding="same", use_bias=False)
    layer = InformationDropout(conv, kl_weight=1.0, activation="softplus", batch_norm=True, max_alpha=0.7, seed=3)
    x = RNG.normal(size=(40, 12, 12, 4)).astype("float32")
    z = layer(x, training=True)
    assert tuple(z.shape) == (40, 6, 6, 6) and layer.prior == "log_normal"
    assert {w.name for w in layer.trainable_weights} >= {"prior_mean", "prior_std"}
    # Batch norm ran in training mode: its moving mean left zero.
    assert np.abs(numpy(layer.normalization.moving_mean)).max() > 0
    # Softplus units are all active, so every unit's log noise is α·n exactly: 8,640 N(0, 1) draws.
    n = standardized_log_noise(layer, x)
    assert n.size == 40 * 6 * 6 * 6
    assert abs(n.mean()) < 0.05 and n.std() == pytest.approx(1.0, abs=0.04)
    layer.prior_mean.assign(-0.5)
    layer.prior_std.assign(1.5)
    f, alpha = (numpy(t) for t in layer.activations_and_alpha(x, training=False))
    layer(x, training=False)
    log_f = np.log(np.maximum(f, 1e-4))
    per_unit = 0.5 * ((alpha / 1.5) ** 2 + (log_f + 0.5) ** 2 / 1.5**2 - 1) + np.log(1.5) - np.log(alpha)
    assert float(numpy(layer.losses[0])) == pytest.approx(per_unit.reshape(40, -1).sum(axis=1).mean(), rel=1e-5)


def test_fused_layer_computes_the_same_f_and_alpha_as_two_maps():
    x = RNG.normal(size=(4, 9, 9, 3)).astype("float32")
    make = lambda fused: InformationDropout(keras.layers.Conv2D(5, 3, strides=2, padding="same"), kl_weight=1.0,
                                           fused=fused)
    plain, fused = make(False), make(True)
    plain(x), fused(x)
    fused.set_weights(plain.get_weights())
    for a, b in zip(plain.activations_and_alpha(x), fused.activations_and_alpha(x)):
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=1e-5, atol=1e-6)


def test_noise_scale_multiplies_the_log_noise_and_is_restored():
    layer = InformationDropout(keras.layers.Dense(64), kl_weight=1.0, activation="softplus", seed=1)
    x = RNG.normal(size=(200, 8)).astype("float32")
    f = layer(x, training=False)  # builds the layer, and its noise_scale variable with it
    with noise_scale(layer, 0.0):
        np.testing.assert_array_equal(numpy(layer(x, training=True)), numpy(f))
    with noise_scale(layer, 0.5):
        # 12,800 draws of N(0, 0.5²): the std's standard error is ~0.003.
        assert standardized_log_noise(layer, x).std() == pytest.approx(0.5, abs=0.02)
    assert float(numpy(layer.noise_scale)) == 1.0
    assert standardized_log_noise(layer, x).std() == pytest.approx(1.0, abs=0.04)


def test_binary_dropout_mask_fraction_values_and_noise_scale():
    layer = BinaryDropout(0.5, seed=3)
    x = np.ones((200, 100), dtype="float32")
    y = numpy(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    # 20,000 Bernoulli(0.5) draws: the kept fraction's standard error is 0.0035.
    assert (y > 0).mean() == pytest.approx(0.5, abs=0.02)
    np.testing.assert_array_equal(numpy(layer(x, training=False)), x)
    with noise_scale(layer, 0.5):  # x·(1 + 0.5·(m/keep − 1)): 1.5 kept, 0.5 dropped
        assert set(np.unique(numpy(layer(x, training=True)))) <= {0.5, 1.5}
    with noise_scale(layer, 0.0):
        np.testing.assert_array_equal(numpy(layer(x, training=True)), x)


def test_log_normal_dropout_has_the_given_spread_times_noise_scale():
    layer = LogNormalDropout(0.7, seed=4)
    x = np.ones((200, 100), dtype="float32")
    log_eps = np.log(numpy(layer(x, training=True)))
    assert abs(log_eps.mean()) < 0.03 and log_eps.std() == pytest.approx(0.7, abs=0.02)
    with noise_scale(layer, 0.5):
        assert np.log(numpy(layer(x, training=True))).std() == pytest.approx(0.35, abs=0.01)
    np.testing.assert_array_equal(numpy(layer(x, training=False)), x)


def test_kl_formulas_on_backend_tensors_match_their_closed_forms():
    alpha = ops.convert_to_tensor(np.array([0.701, 0.35, 0.001], dtype="float32"))
    np.testing.assert_allclose(numpy(kl_log_uniform(alpha, 0.7)), [0.0, np.log(0.701 / 0.35), np.log(701.0)],
                               rtol=1e-5, atol=1e-6)
    tensor = lambda v: ops.convert_to_tensor(np.float32(v))
    # KL(N(1, 2²) || N(0, 1)) = ½(4 + 1 − 1) − log 2; KL(N(0, 1) || N(2, 3²)) = ½(1/9 + 4/9 − 1) + log 3.
    assert float(numpy(kl_gaussian(tensor(1.0), tensor(2.0), 0.0, 1.0))) == pytest.approx(2 - np.log(2), rel=1e-6)
    assert float(numpy(kl_gaussian(tensor(0.0), tensor(1.0), 2.0, 3.0))) == pytest.approx(
        0.5 * (5 / 9 - 1) + np.log(3), rel=1e-6)


@pytest.mark.parametrize("f, alpha, mu, sigma", [(0.8, 0.3, 0.0, 1.0), (2.5, 0.6, 0.4, 0.5), (1e-6, 0.1, -2.0, 1.5)])
def test_log_normal_kl_matches_monte_carlo(f, alpha, mu, sigma):
    # log z ~ N(log max(f, 1e-4), α²) against log z ~ N(μ, σ²) under the prior: E[log q − log p] by sampling.
    location = np.log(max(f, 1e-4))
    log_z = location + alpha * np.random.default_rng(1).standard_normal(200_000)
    log_ratio = (-0.5 * ((log_z - location) / alpha) ** 2 - np.log(alpha)
                 + 0.5 * ((log_z - mu) / sigma) ** 2 + np.log(sigma))
    kl = float(numpy(kl_log_normal(ops.convert_to_tensor(np.float32(f)), ops.convert_to_tensor(np.float32(alpha)),
                                   mu, sigma)))
    assert kl == pytest.approx(log_ratio.mean(), abs=4 * log_ratio.std() / np.sqrt(log_ratio.size) + 1e-4)


def two_layer_model():
    """Two Information Dropout layers, ReLU (log-uniform) and Softplus with batch norm (log-normal), and the
    two baselines."""
    inputs = keras.Input((10, 10, 3))
    x = InformationDropout(keras.layers.Conv2D(8, 3, strides=2, padding="same"), kl_weight=0.01,
                           activation="relu", name="relu_pool")(inputs)
    x = BinaryDropout(0.2, name="binary")(x)
    x = keras.layers.Flatten()(x)
    x = InformationDropout(keras.layers.Dense(16, use_bias=False), kl_weight=0.01, activation="softplus",
                           batch_norm=True, name="softplus_dense")(x)
    x = LogNormalDropout(0.3, name="lognormal")(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def test_keras_file_round_trip_keeps_outputs_configs_and_the_loss(tmp_path):
    model = two_layer_model()
    x = RNG.normal(size=(8, 10, 10, 3)).astype("float32")
    model(x, training=True)  # batch-norm statistics away from their initial values
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(numpy(model(x, training=False)), numpy(loaded(x, training=False)))
    assert [layer.name for layer in information_dropout_layers(loaded)] == ["relu_pool", "softplus_dense"]
    relu, softplus = information_dropout_layers(loaded)
    assert (relu.prior, softplus.prior, softplus.batch_norm) == ("log_uniform", "log_normal", True)
    assert (loaded.get_layer("binary").rate, loaded.get_layer("lognormal").alpha) == (0.2, 0.3)
    assert float(numpy(ops.sum(ops.stack(loaded.losses)))) == pytest.approx(
        float(numpy(ops.sum(ops.stack(model.losses)))), rel=1e-6)
