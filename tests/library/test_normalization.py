"""FusedBatchNormalization against Keras's BatchNormalization on whichever backend runs it: the same outputs,
moving statistics and training step (on TensorFlow through the fused kernel where the channels allow it, elsewhere
through Keras's own code), and the .keras round trip.

Imports only keras, numpy and pytest, as the rest of tests/library.
"""

import os

import keras
import numpy as np
import pytest
from keras import ops

from infodropout.normalization import FUSED_CHANNEL_MULTIPLE, FusedBatchNormalization

RNG = np.random.default_rng(1)


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def pair(channels: int, **kwargs):
    """A FusedBatchNormalization and a Keras BatchNormalization with the same (non-trivial) weights."""
    shape = (None, 5, 5, channels)
    fused, plain = FusedBatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    fused.build(shape), plain.build(shape)
    for variable in fused.weights:
        variable.assign(RNG.uniform(0.5, 1.5, size=variable.shape).astype("float32"))
    for source, target in zip(fused.weights, plain.weights):
        target.assign(source)
    return fused, plain


@pytest.mark.parametrize("channels", [FUSED_CHANNEL_MULTIPLE * 2, 9])
@pytest.mark.parametrize("scale", [False, True])
def test_training_call_matches_keras_batch_norm_outputs_and_moving_statistics(channels, scale):
    fused, plain = pair(channels, momentum=0.9, epsilon=1e-3, scale=scale)
    # Far from zero mean and unit variance, so that a wrong variance (biased vs unbiased) shows.
    x = (RNG.normal(size=(6, 5, 5, channels)) * 3 + 2).astype("float32")
    out = numpy(fused(x, training=True))
    np.testing.assert_allclose(out, numpy(plain(x, training=True)), rtol=1e-5, atol=2e-5)
    # 150 values a channel: the unbiased variance would differ from the biased one by 1/149 ≈ 0.7 %.
    np.testing.assert_allclose(numpy(fused.moving_mean), numpy(plain.moving_mean), rtol=1e-6)
    np.testing.assert_allclose(numpy(fused.moving_variance), numpy(plain.moving_variance), rtol=1e-5)
    # Normalised with the batch's own statistics: per channel, mean β and standard deviation γ·σ/√(σ²+ε).
    gamma = numpy(fused.gamma) if scale else 1.0
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), numpy(fused.beta), atol=1e-4)
    sigma2 = x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), gamma * np.sqrt(sigma2 / (sigma2 + 1e-3)), rtol=1e-4)
    # Inference uses the moving statistics, the same in both.
    np.testing.assert_allclose(numpy(fused(x, training=False)), numpy(plain(x, training=False)), rtol=1e-5,
                               atol=1e-5)


def test_one_sgd_step_through_it_matches_keras_batch_norm():
    """The gradients (through x into the convolution, and to β) agree: one step of SGD lands on the same weights."""
    channels = FUSED_CHANNEL_MULTIPLE * 2
    x = RNG.normal(size=(32, 6, 6, 3)).astype("float32")
    y = RNG.integers(0, 4, size=32)

    def model(normalization):
        inputs = keras.Input((6, 6, 3))
        h = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name="conv")(inputs)
        h = keras.layers.Activation("relu")(normalization(momentum=0.9, epsilon=1e-3, scale=False)(h))
        outputs = keras.layers.Dense(4, name="logits")(keras.layers.GlobalAveragePooling2D()(h))
        network = keras.Model(inputs, outputs)
        network.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return network

    keras.utils.set_random_seed(3)
    fused = model(FusedBatchNormalization)
    keras.utils.set_random_seed(3)
    plain = model(keras.layers.BatchNormalization)
    initial_kernel = numpy(plain.get_layer("conv").kernel)
    for a, b in zip(fused.weights, plain.weights):
        np.testing.assert_array_equal(numpy(a), numpy(b))
    fused.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    plain.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(fused.weights, plain.weights):
        np.testing.assert_allclose(numpy(a), numpy(b), rtol=1e-4, atol=1e-5, err_msg=a.path)
    # The step moved the weights (a comparison of two untrained models would prove nothing).
    assert float(np.abs(numpy(fused.get_layer("conv").kernel) - initial_kernel).max()) > 1e-3


def test_uses_the_fused_kernel_only_where_it_pays():
    layer = FusedBatchNormalization()
    on_tensorflow = keras.backend.backend() == "tensorflow"
    assert layer.uses_fused_kernel((8, 4, 4, 16)) is on_tensorflow
    assert not layer.uses_fused_kernel((8, 4, 4, 9))  # oneDNN would reorder the tensor
    assert not layer.uses_fused_kernel((8, 16))  # not an image
    assert not FusedBatchNormalization(epsilon=1e-6).uses_fused_kernel((8, 4, 4, 16))
    assert not FusedBatchNormalization(axis=1).uses_fused_kernel((8, 16, 4, 4))


def test_keras_file_round_trip(tmp_path):
    inputs = keras.Input((4, 4, 16))
    outputs = FusedBatchNormalization(momentum=0.9, scale=False)(inputs)
    model = keras.Model(inputs, outputs)
    model(RNG.normal(size=(5, 4, 4, 16)).astype("float32"), training=True)  # move the statistics
    path = os.path.join(tmp_path, "bn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[-1], FusedBatchNormalization) and loaded.layers[-1].momentum == 0.9
    x = RNG.normal(size=(3, 4, 4, 16)).astype("float32")
    np.testing.assert_allclose(numpy(loaded(x)), numpy(model(x)), rtol=1e-6)
