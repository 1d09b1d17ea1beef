"""Guarantees for users' own models, one per defect seen in public implementations, plus MC
prediction and the α monitor."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout import AlphaMonitor, information_dropout_layers, mc_predict
from infodropout.callbacks import AlphaCollapseWarning
from infodropout.models import all_cnn_32, fully_connected
from infodropout.paper.train.evaluation import evaluate_classifier
from infodropout.readouts import layer_readouts

RNG = np.random.default_rng(0)
X_IMAGES = RNG.normal(size=(16, 32, 32, 3)).astype("float32")
X_DIGITS = RNG.uniform(size=(64, 28, 28, 1)).astype("float32")
Y = np.arange(64) % 10


def test_evaluation_output_has_no_noise():
    model = all_cnn_32(0.1, dropout="information", input_keep_prob=0.8)
    first, second = model.predict(X_IMAGES, verbose=0), model.predict(X_IMAGES, verbose=0)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(model(X_IMAGES, training=True), model(X_IMAGES, training=True))


def test_loss_kl_term_is_beta_times_layer_kl_summed_over_units_averaged_over_batch_divided_by_n_train():
    n_train, beta = 5000, 2.0
    model = fully_connected(32, dropout="information", kl_weight=beta / n_train)
    expected = 0.0
    for layer in information_dropout_layers(model):
        kl = layer_readouts(model, X_DIGITS, layer=layer)["kl"]
        expected += beta * kl.reshape(len(kl), -1).sum(axis=1).mean() / n_train
    metrics = evaluate_classifier(model, X_DIGITS, Y, batch_size=len(X_DIGITS), weight_decay=0.0, verbose=0)
    assert metrics["Lz"] == pytest.approx(expected, rel=1e-5)
    assert metrics["loss"] == pytest.approx(metrics["Lx"] + expected, rel=1e-5)


def test_gradients_of_the_task_loss_alone_reach_every_alpha_map():
    model = all_cnn_32(0.1, dropout="information")
    with tf.GradientTape() as tape:
        logits = model(X_IMAGES, training=True)
        task = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(Y[:16], logits))
    layers = information_dropout_layers(model)
    gradients = tape.gradient(task, [layer.alpha_layer.kernel for layer in layers])
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)


def test_alpha_is_not_pinned_at_initialisation():
    model = all_cnn_32(0.25, dropout="information")
    for layer in information_dropout_layers(model):
        readout = layer_readouts(model, X_IMAGES, layer=layer)
        # Each unit's KL changes from one input to another (a clipped, pinned α would give exactly 0;
        # at initialisation the deeper layer's spread is about 0.01 nats).
        assert readout["kl"].std(axis=0).mean() > 1e-3
        alpha = readout["alpha"]
        assert np.mean((alpha < 0.01) | (alpha > 0.69)) < 0.5  # most α are inside (0.001, 0.701)


def test_mc_predict_averages_noisy_softmaxes_and_leaves_batch_norm_alone():
    model = all_cnn_32(0.1, dropout="information")
    model(X_IMAGES, training=True)  # batch-norm statistics away from their initial values
    bn = next(layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization))
    moving_mean = bn.moving_mean.numpy().copy()
    mean, spread = mc_predict(model, X_IMAGES, samples=8, batch_size=8)
    assert mean.shape == spread.shape == (16, 10)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-5)
    assert spread.max() > 0  # the noise was on
    np.testing.assert_array_equal(bn.moving_mean.numpy(), moving_mean)
    assert bn.trainable  # restored
    _, no_spread = mc_predict(model, X_IMAGES, samples=1, batch_size=8)
    assert no_spread.max() == 0


def test_alpha_monitor_logs_each_layer_and_warns_on_collapse():
    model = fully_connected(16, dropout="information", kl_weight=1e-3)
    monitor = AlphaMonitor(X_DIGITS, network=model)
    logs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", AlphaCollapseWarning)
        monitor.on_epoch_end(0, logs)
    for name in ("information_dropout1", "information_dropout3"):
        assert logs[f"{name}.alpha_min"] <= logs[f"{name}.alpha_mean"] <= logs[f"{name}.alpha_max"]
        assert logs[f"{name}.kl_per_unit"] > 0
    layer = information_dropout_layers(model)[0]
    layer.alpha_layer.bias.assign(np.full(16, 50.0, dtype="float32"))  # sigmoid saturates: α = max
    with pytest.warns(AlphaCollapseWarning, match="information_dropout1"):
        monitor.on_epoch_end(1, {})
