"""InformationDropout and the baseline noise layers: noise statistics, switches, gradients, KL, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout.kl import kl_log_normal
from infodropout.layers import BinaryDropout, InformationDropout, LogNormalDropout, noise_scale


def dense_dropout(units=64, **kwargs):
    kwargs.setdefault("kl_weight", 1.0)
    return InformationDropout(keras.layers.Dense(units), seed=7, **kwargs)


def test_log_noise_has_mean_zero_and_std_alpha():
    layer = dense_dropout(units=256, max_alpha=0.7)
    x = keras.random.normal((400, 32), seed=1)
    z = layer(x, training=True)
    f, alpha = layer.activations_and_alpha(x)
    active = keras.ops.convert_to_numpy(f) > 1e-3
    standardized = (np.log(np.asarray(z)[active]) - np.log(np.asarray(f)[active])) / np.asarray(alpha)[active]
    # About 50,000 active units: the sample mean's standard error is ~0.0045 and the std's ~0.003.
    assert abs(standardized.mean()) < 0.03
    assert standardized.std() == pytest.approx(1.0, abs=0.03)


def test_inference_and_zero_noise_scale_give_f_exactly():
    layer = dense_dropout()
    x = keras.random.normal((16, 32), seed=2)
    f, _ = layer.activations_and_alpha(x)
    np.testing.assert_array_equal(layer(x, training=False), f)
    with noise_scale(layer, 0.0):
        np.testing.assert_array_equal(layer(x, training=True), f)
    assert float(layer.noise_scale.numpy()) == 1.0  # restored
    assert not np.allclose(layer(x, training=True), f)


def test_alpha_is_bounded_and_the_alpha_map_has_the_geometry_of_f():
    conv = keras.layers.Conv2D(6, 3, strides=2, padding="same", use_bias=False)
    layer = InformationDropout(conv, kl_weight=1.0, max_alpha=0.7, batch_norm=True)
    x = keras.random.normal((3, 10, 10, 4), seed=3)
    f, alpha = layer.activations_and_alpha(x, training=False)
    assert f.shape == alpha.shape == (3, 5, 5, 6)
    assert layer.alpha_layer.kernel.shape == conv.kernel.shape
    assert layer.alpha_layer.use_bias and not conv.use_bias
    alpha = np.asarray(alpha)
    assert alpha.min() > 0.001 and alpha.max() < 0.701


def test_task_gradient_reaches_alpha_and_kl_loss_is_batch_mean_of_summed_units():
    layer = dense_dropout(units=8, kl_weight=0.25)
    x = keras.random.normal((5, 4), seed=4)
    with tf.GradientTape() as tape:
        task = tf.reduce_sum(tf.square(layer(x, training=True)))
    gradient = tape.gradient(task, layer.alpha_layer.kernel)
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0
    _, alpha = layer.activations_and_alpha(x)
    expected = 0.25 * np.mean(np.sum(-np.log(np.asarray(alpha) / 0.701), axis=1))
    assert float(layer.losses[0]) == pytest.approx(expected, rel=1e-5)


def test_log_normal_prior_for_softplus_with_learnable_mean_and_std():
    layer = dense_dropout(units=8, activation="softplus")
    assert layer.prior == "log_normal"
    x = keras.random.normal((5, 4), seed=5)
    layer(x)
    assert {w.name for w in layer.trainable_weights} >= {"prior_mean", "prior_std"}
    assert float(layer.prior_mean.numpy()) == 0.0 and float(layer.prior_std.numpy()) == 1.0
    f, alpha = layer.activations_and_alpha(x)
    expected = np.mean(np.sum(np.asarray(kl_log_normal(f, alpha, 0.0, 1.0)), axis=1))
    assert float(layer.losses[0]) == pytest.approx(expected, rel=1e-5)


def test_larger_beta_drives_alpha_up_on_a_toy_problem():
    # A linear regression through one Information Dropout layer: with β = 0 the task wants no noise,
    # with a large β the KL (−log α) pushes α towards max_alpha.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1))).astype("float32")

    def mean_alpha_after_training(beta):
        keras.utils.set_random_seed(0)
        layer = InformationDropout(keras.layers.Dense(16), kl_weight=beta / len(x), max_alpha=1.0, seed=0)
        head = keras.layers.Dense(1)
        optimizer = keras.optimizers.SGD(0.05)
        for _ in range(150):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(head(layer(x, training=True)) - y)) + tf.add_n(layer.losses)
            variables = layer.trainable_variables + head.trainable_variables
            optimizer.apply(tape.gradient(loss, variables), variables)
        return float(np.mean(layer.activations_and_alpha(x)[1]))

    low, high = mean_alpha_after_training(0.0), mean_alpha_after_training(2000.0)
    assert high > low + 0.2


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="must be linear"):
        InformationDropout(keras.layers.Dense(3, activation="relu"), kl_weight=1.0)
    with pytest.raises(ValueError, match="max_alpha"):
        dense_dropout(max_alpha=0.0)
    with pytest.raises(ValueError, match="prior"):
        dense_dropout(activation="tanh")
    with pytest.raises(ValueError, match="rate"):
        BinaryDropout(1.0)
    with pytest.raises(ValueError, match="alpha"):
        LogNormalDropout(-0.1)


def test_binary_dropout_keeps_the_expected_fraction_and_obeys_noise_scale():
    layer = BinaryDropout(0.5, seed=3)
    x = np.ones((200, 100), dtype="float32")
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    # 20,000 Bernoulli(0.5) draws: the kept fraction's standard error is 0.0035.
    assert (y > 0).mean() == pytest.approx(0.5, abs=0.02)
    with noise_scale(layer, 0.0):
        np.testing.assert_array_equal(layer(x, training=True), x)
    np.testing.assert_array_equal(layer(x, training=False), x)


def test_constant_log_normal_noise_has_the_given_spread():
    layer = LogNormalDropout(0.7, seed=4)
    log_eps = np.log(np.asarray(layer(np.ones((200, 100), dtype="float32"), training=True)))
    assert abs(log_eps.mean()) < 0.03 and log_eps.std() == pytest.approx(0.7, abs=0.02)


def test_layer_inside_a_user_block_saves_and_loads_with_identical_outputs(tmp_path):
    inputs = keras.Input((12, 12, 3))
    x = InformationDropout(keras.layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False), kl_weight=0.1,
                           activation="softplus", batch_norm=True, name="pool")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(4, 12, 12, 3)).astype("float32")
    model(x, training=True)  # moves batch-norm statistics away from their initial values
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(model(x, training=False), loaded(x, training=False))
    restored = loaded.get_layer("pool")
    assert isinstance(restored, InformationDropout) and restored.prior == "log_normal"
    assert restored.kl_weight == 0.1 and restored.batch_norm
