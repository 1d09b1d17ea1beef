"""Training and prediction with the library on whichever Keras backend runs them: fit and evaluate with the KL in
the loss, mc_predict, stochastic_inference, noisy_error, AlphaMonitor in fit, and the networks of the paper.

Imports only keras, numpy and pytest (see test_backend_layers.py).
"""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

from infodropout import (AlphaMonitor, InformationDropout, information_dropout_layers, mc_predict, noise_scale,
                         stochastic_inference)
from infodropout.callbacks import AlphaCollapseWarning
from infodropout.kl import kl_log_uniform
from infodropout.models import all_cnn_32, fully_connected
from infodropout.prediction import noisy_error
from infodropout.readouts import layer_readouts
from infodropout.vae import binarize, variational_autoencoder, variational_lower_bound

RNG = np.random.default_rng(0)
# Three classes, each a Gaussian blob in 12 dimensions: learnable in a few epochs.
CENTRES = RNG.normal(scale=2.0, size=(3, 12)).astype("float32")
Y = np.arange(240) % 3
X = (CENTRES[Y] + RNG.normal(size=(240, 12))).astype("float32")


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def blob_classifier(kl_weight=1e-3, seed=0):
    """Two Information Dropout layers: ReLU (log-uniform prior), then Softplus with batch norm (log-normal)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12,))
    x = InformationDropout(keras.layers.Dense(32), kl_weight=kl_weight, activation="relu", name="relu_id")(inputs)
    x = InformationDropout(keras.layers.Dense(32, use_bias=False), kl_weight=kl_weight, activation="softplus",
                           batch_norm=True, name="softplus_id")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(x))
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_fit_learns_and_evaluate_is_the_deterministic_cross_entropy_plus_the_kl():
    model = blob_classifier()
    seeds = [numpy(layer.seed_generator.state).copy() for layer in information_dropout_layers(model)]
    history = model.fit(X, Y, batch_size=40, epochs=8, verbose=0)
    # Each step drew fresh noise: the seed state came back advanced from the compiled train step (on JAX, jit).
    for layer, before in zip(information_dropout_layers(model), seeds):
        assert not np.array_equal(numpy(layer.seed_generator.state), before), layer.name
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loss, accuracy = model.evaluate(X, Y, batch_size=len(X), verbose=0)
    assert accuracy > 0.9
    logits = numpy(model(X, training=False))
    cross_entropy = -np.mean(np.log(softmax(logits.astype("float64"))[np.arange(len(Y)), Y]))
    kl = sum(float(numpy(term)) for term in model.losses)
    assert kl > 0
    assert loss == pytest.approx(cross_entropy + kl, rel=1e-4)


def test_the_task_gradient_alone_reaches_both_alpha_maps():
    model = blob_classifier(kl_weight=0.0)
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    kernels = [numpy(layer.alpha_layer.kernel).copy() for layer in information_dropout_layers(model)]
    model.train_on_batch(X[:40], Y[:40])
    for layer, before in zip(information_dropout_layers(model), kernels):
        assert np.abs(numpy(layer.alpha_layer.kernel) - before).max() > 0, layer.name


def test_larger_beta_drives_alpha_up():
    # A linear regression through one layer: with β = 0 the task wants no noise; with a large β the KL (−log α)
    # pushes α towards max_alpha.
    x = RNG.normal(size=(256, 8)).astype("float32")
    y = (x @ RNG.normal(size=(8, 1))).astype("float32")

    def mean_alpha_after_training(beta):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((8,))
        layer = InformationDropout(keras.layers.Dense(16), kl_weight=beta / len(x), max_alpha=1.0, seed=0)
        model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
        model.compile(keras.optimizers.SGD(0.05), "mse")
        # 150 full-batch steps in one epoch (the data repeated, not shuffled): per-epoch overhead paid once.
        model.fit(np.tile(x, (150, 1)), np.tile(y, (150, 1)), batch_size=len(x), epochs=1, shuffle=False, verbose=0)
        return float(numpy(layer.activations_and_alpha(x)[1]).mean())

    assert mean_alpha_after_training(2000.0) > mean_alpha_after_training(0.0) + 0.2


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mc_predict_returns_float32_probabilities_under_a_mixed_policy(policy):
    keras.config.set_dtype_policy(policy)
    try:
        model = blob_classifier()
        assert keras.backend.standardize_dtype(model.outputs[0].dtype) == policy.removeprefix("mixed_")
        mean, spread = mc_predict(model, X[:50], samples=4, batch_size=25)
    finally:
        keras.config.set_dtype_policy("float32")
    assert mean.dtype == spread.dtype == np.float32
    # 16-bit probabilities missed 1 by up to 4.5e-3 (bfloat16's 8-bit mantissa); float32 ones by rounding only.
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, atol=1e-5)


def test_mc_predict_averages_noisy_softmaxes_with_batch_norm_in_test_mode():
    model = blob_classifier()
    model.fit(X, Y, batch_size=40, epochs=1, verbose=0)
    bn = information_dropout_layers(model)[1].normalization
    moving_mean = numpy(bn.moving_mean).copy()
    mean, spread = mc_predict(model, X[:50], samples=8, batch_size=20)
    assert mean.shape == spread.shape == (50, 3)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-5)
    assert spread.max() > 1e-3  # the noise was on
    np.testing.assert_array_equal(numpy(bn.moving_mean), moving_mean)
    assert bn.trainable  # restored
    _, no_spread = mc_predict(model, X[:50], samples=1)
    assert no_spread.max() == 0
    # Without noise every sample is the deterministic prediction: batch norm used its moving statistics.
    with noise_scale(model, 0.0):
        quiet, quiet_spread = mc_predict(model, X[:50], samples=3)
    np.testing.assert_allclose(quiet, softmax(model.predict(X[:50], verbose=0)), rtol=1e-4, atol=1e-6)
    assert quiet_spread.max() < 1e-6
    with pytest.raises(ValueError, match="samples"):
        mc_predict(model, X, samples=0)


def test_stochastic_inference_samples_noise_and_keeps_batch_norm_in_test_mode():
    model = blob_classifier()
    model.fit(X, Y, batch_size=40, epochs=1, verbose=0)
    bn = information_dropout_layers(model)[1].normalization
    moving_mean = numpy(bn.moving_mean).copy()
    deterministic = numpy(model(X, training=False))
    with stochastic_inference(model):
        first, second = numpy(model(X, training=True)), numpy(model(X, training=True))
        with noise_scale(model, 0.0):
            quiet = numpy(model(X, training=True))
    assert not np.allclose(first, second)
    np.testing.assert_allclose(quiet, deterministic, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(numpy(bn.moving_mean), moving_mean)
    # Outside the context training=True is training again: batch statistics, and they move.
    model(X, training=True)
    assert not np.array_equal(numpy(bn.moving_mean), moving_mean)


def test_noisy_error_is_the_error_of_one_noisy_pass():
    model = blob_classifier()
    model.fit(X, Y, batch_size=40, epochs=8, verbose=0)
    clean = 100.0 * np.mean(np.argmax(model.predict(X, verbose=0), axis=-1) != Y)
    with noise_scale(model, 0.0):
        assert noisy_error(model, X, Y, batch_size=64) == pytest.approx(clean)
    noisy = noisy_error(model, X, Y, batch_size=64)
    assert 0.0 <= noisy < 50.0


def test_alpha_monitor_logs_each_layer_during_fit_and_warns_on_collapse():
    model = blob_classifier()
    monitor = AlphaMonitor(X[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("error", AlphaCollapseWarning)
        history = model.fit(X, Y, batch_size=40, epochs=2, verbose=0, callbacks=[monitor]).history
    for name in ("relu_id", "softplus_id"):
        means = history[f"{name}.alpha_mean"]
        assert len(means) == 2
        assert history[f"{name}.alpha_min"][-1] <= means[-1] <= history[f"{name}.alpha_max"][-1]
        # The last epoch's value is the α of the trained weights (on JAX: the state synced back after fit).
        alpha = layer_readouts(model, X[:100], layer=model.get_layer(name))["alpha"]
        assert means[-1] == pytest.approx(float(alpha.mean()), rel=1e-4)
        assert history[f"{name}.kl_per_unit"][-1] > 0
    layer = model.get_layer("relu_id")
    layer.alpha_layer.bias.assign(np.full(32, 50.0, dtype="float32"))  # sigmoid saturates: α = max_alpha
    with pytest.warns(AlphaCollapseWarning, match="relu_id"):
        monitor.on_epoch_end(2, {})


@keras.saving.register_keras_serializable(package="tests_library")
class ResidualBlock(keras.layers.Layer):
    """A user's block holding an Information Dropout layer as an attribute."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dropout = InformationDropout(keras.layers.Dense(units), kl_weight=1e-3, activation="softplus")
        self.skip = keras.layers.Dense(units)

    def build(self, input_shape):
        self.dropout.build(input_shape)
        self.skip.build(input_shape)

    def call(self, inputs, training=None):
        return self.dropout(inputs, training=training) + self.skip(inputs)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_information_dropout_layers_finds_nested_layers_and_they_save(tmp_path):
    inputs = keras.Input((12,))
    x = InformationDropout(keras.layers.Dense(8), kl_weight=1e-3, name="outer")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(ResidualBlock(6, name="block")(x)))
    found = information_dropout_layers(model)
    assert [layer.name for layer in found][0] == "outer" and len(found) == 2
    assert found[1] is model.get_layer("block").dropout
    model.save(tmp_path / "nested.keras")
    loaded = keras.models.load_model(tmp_path / "nested.keras")
    assert len(information_dropout_layers(loaded)) == 2
    np.testing.assert_array_equal(numpy(model(X, training=False)), numpy(loaded(X, training=False)))


def test_all_cnn_32_is_deterministic_at_test_time_noisy_in_training_and_trains():
    model = all_cnn_32(0.1, dropout="information", kl_weight=1e-4)
    assert len(information_dropout_layers(model)) == 2
    x = RNG.normal(size=(8, 32, 32, 3)).astype("float32")
    y = np.arange(8) % 10
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not np.allclose(numpy(model(x, training=True)), numpy(model(x, training=True)))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)


@pytest.mark.parametrize("dropout", ["information", "binary", "lognormal", "none"])
def test_fully_connected_trains_one_step_with_each_dropout(dropout):
    model = fully_connected(16, dropout=dropout, kl_weight=1e-3, input_shape=(12,))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(information_dropout_layers(model)) == (3 if dropout == "information" else 0)
    before = model.evaluate(X, Y, batch_size=len(X), verbose=0)
    model.fit(X, Y, batch_size=40, epochs=3, verbose=0)
    assert model.evaluate(X, Y, batch_size=len(X), verbose=0) < before


def test_vae_information_latent_trains_and_its_bound_adds_up():
    images = binarize(RNG.uniform(size=(64, 28, 28, 1)).astype("float32"))
    network = variational_autoencoder(1, "information", max_alpha=0.7)
    network.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    network.fit(images, images, batch_size=32, epochs=1, verbose=0)
    bound = variational_lower_bound(network, images[:32], samples=2, batch_size=32)
    assert bound["elbo"] == pytest.approx(bound["reconstruction"] - bound["kl"], rel=1e-5)
    layer = network.get_layer("latent")
    hidden = network.get_layer("encoder")(images[:32].reshape(32, -1))
    _, alpha = layer.activations_and_alpha(hidden)
    assert bound["kl"] == pytest.approx(float(numpy(kl_log_uniform(alpha, 0.7)).sum(axis=1).mean()), rel=1e-4)
    assert bound["reconstruction"] < 0


def test_vae_gaussian_latent_kl_is_the_closed_form():
    images = binarize(RNG.uniform(size=(16, 28, 28, 1)).astype("float32"))
    network = variational_autoencoder(1, "gaussian")
    bound = variational_lower_bound(network, images, samples=1, batch_size=16)
    latent = network.get_layer("latent")
    hidden = network.get_layer("encoder")(images.reshape(16, -1))
    mean, log_variance = numpy(latent.mean_layer(hidden)), numpy(latent.log_variance_layer(hidden))
    kl = 0.5 * (mean**2 + np.exp(log_variance) - log_variance - 1).sum(axis=1).mean()
    assert bound["kl"] == pytest.approx(kl, rel=1e-4)
