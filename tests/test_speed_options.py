"""The speed options leave the mathematics unchanged: with the same seed and weights, a few training
steps give the same losses and KL with and without each option."""

import keras
import numpy as np
import pytest

from infodropout.layers import noise_scale
from infodropout.models import all_cnn_32, fully_connected
from infodropout.paper.train.trainer import TrainSettings, train_classifier

RNG = np.random.default_rng(0)
X_IMAGES, X_DIGITS = RNG.normal(size=(60, 32, 32, 3)).astype("float32"), RNG.uniform(size=(60, 28, 28, 1)).astype("float32")
Y = RNG.integers(0, 10, size=60)


def small_cnn(fused=False):
    return all_cnn_32(0.1, dropout="information", activation="softplus", kl_weight=3.0 / 60, input_keep_prob=0.8,
                      fused=fused)


def small_fc(fused=False):
    return fully_connected(32, dropout="information", kl_weight=3.0 / 60, fused=fused)


def history(build, x, folder, fused=False, jit_compile=False, noise=True):
    """Three epochs of two steps from the same initial weights and noise seeds."""
    keras.utils.set_random_seed(1)
    network = build(fused=fused)
    keras.utils.set_random_seed(2)
    network.set_weights(build().get_weights())  # the same initial weights whatever the option
    keras.utils.set_random_seed(3)
    settings = TrainSettings(batch_size=30, epochs=3, learning_rate=0.01, lr_drops=(), weight_decay=1e-3,
                             jit_compile=jit_compile)
    with noise_scale(network, 1.0 if noise else 0.0):
        return train_classifier(network, x, Y, settings, folder / f"{fused}{jit_compile}.keras", verbose=0,
                                monitor_alpha=False)


def assert_same_training(a, b):
    # Float32 sums taken in another order: agreement to 1e-4 relative.
    for epoch_a, epoch_b in zip(a, b, strict=True):
        for key in ("loss", "Lx", "Lz", "error"):
            assert epoch_b[key] == pytest.approx(epoch_a[key], rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("build, x", [(small_cnn, X_IMAGES), (small_fc, X_DIGITS)])
def test_fused_f_and_alpha_maps_give_the_same_training(build, x, tmp_path):
    assert_same_training(history(build, x, tmp_path), history(build, x, tmp_path, fused=True))


@pytest.fixture
def without_op_determinism():
    """Keras compiles nothing with XLA while TensorFlow's op determinism is on (it falls back to jit_compile=False
    with a warning), and every training run of the scripts turns it on for the rest of the process: off for
    this test, as it was before."""
    from tensorflow.python.framework import config

    enabled = config.is_op_determinism_enabled()
    config.disable_op_determinism()
    yield
    if enabled:
        config.enable_op_determinism()


# Keras's fallback to jit_compile=False would compare the plain path with itself: an error here. Slow: XLA
# compiles the network for a minute's share of the fast suite; CI runs it (no other test trains with XLA).
@pytest.mark.slow
@pytest.mark.filterwarnings("error:Model doesn't support `jit_compile=True`")
def test_xla_gives_the_same_training(tmp_path, without_op_determinism):
    # XLA draws its random numbers with another generator, so the same seed gives other noise
    # samples; with the noise off (σ0 = 0) everything else must agree.
    plain = history(small_cnn, X_IMAGES, tmp_path, noise=False)
    assert_same_training(plain, history(small_cnn, X_IMAGES, tmp_path, jit_compile=True, noise=False))


def batch_norm_kernels(network: keras.Model) -> dict[str, int]:
    """How many of TensorFlow's fused and Keras's plain batch-norm computations a training call runs."""
    import tensorflow as tf

    graph = tf.function(lambda x: network(x, training=True)).get_concrete_function(
        tf.TensorSpec((4, *network.input_shape[1:]))).graph
    types = [op.type for op in graph.get_operations()]
    return {"fused": types.count("FusedBatchNormV3"), "plain": types.count("Rsqrt")}


def test_all_cnn_32_runs_batch_norm_fused_where_the_channels_are_a_multiple_of_8():
    # 25 % of the filters: 24 and 48 channels in the blocks and head (fused), 10 in the last 1×1 conv (plain).
    assert batch_norm_kernels(all_cnn_32(0.25, dropout="information", kl_weight=1e-3)) == {"fused": 8, "plain": 1}
    # 10 %: 9 and 19 channels, where oneDNN's fused kernel was slower: Keras's ops throughout.
    assert batch_norm_kernels(all_cnn_32(0.1, dropout="binary")) == {"fused": 0, "plain": 9}


def test_fused_batch_norm_under_mixed_bfloat16_keeps_the_policy_dtypes():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        network = all_cnn_32(0.25, dropout="information", kl_weight=1e-3)
        logits = network(X_IMAGES[:4], training=True)
        layer = next(layer for layer in network.layers if layer.__class__.__name__ == "FusedBatchNormalization")
        assert layer.moving_variance.dtype == "float32" and np.isfinite(np.asarray(logits, dtype="float32")).all()
        assert layer.compute_dtype == "bfloat16"
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_steps_per_call_divides_the_epoch():
    from infodropout.paper.train.trainer import steps_per_call

    assert [steps_per_call(n) for n in (200, 500, 1, 7, 11, 12, 97)] == [10, 10, 1, 7, 1, 6, 1]


def test_several_steps_a_call_train_as_one_a_call_epoch_by_epoch(tmp_path, monkeypatch):
    """Epochs of 6 steps, with at most 4 steps a call, run as two calls of 3: the same per-epoch records and
    weights as one call a step (calls of 4 would end the first epoch's checkpoint two steps into the second)."""
    from infodropout.paper.train import trainer as training

    runs = {}
    for most in (4, 1):
        monkeypatch.setattr(training, "MAX_STEPS_PER_CALL", most)
        keras.utils.set_random_seed(1)
        network = small_cnn()
        settings = TrainSettings(batch_size=10, epochs=3, learning_rate=0.01, lr_drops=(2,))
        records = train_classifier(network, X_IMAGES, Y, settings, tmp_path / f"{most}.keras", verbose=0,
                                   monitor_alpha=False)
        runs[most] = records, network.get_weights()
    (many, many_weights), (one, one_weights) = runs[4], runs[1]
    assert [r["epoch"] for r in many] == [1, 2, 3]
    for a, b in zip(many, one):
        assert a == pytest.approx(b, rel=1e-6)
    for a, b in zip(many_weights, one_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
