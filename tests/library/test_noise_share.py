"""The share of log z's variance that is injected noise, and log f(x) with the noise off (infodropout.noise_share)."""

import keras
import numpy as np
import pytest
from keras import ops

from infodropout import InformationDropout
from infodropout.noise_share import noise_free_log_activations, noise_variance_share
from infodropout.readouts import layer_readouts

RNG = np.random.default_rng(5)


def test_the_noise_share_is_alpha_squared_over_the_variance_of_log_z():
    # log f ~ N(0, 0.6²) and α = 0.8 everywhere: Var(log z) = 0.36 + 0.64, so the noise's share is 0.64.
    n = 200_000
    log_f = RNG.normal(0.0, 0.6, n)
    alpha = np.full(n, 0.8)
    readout = {"f": np.exp(log_f), "alpha": alpha, "log_z": log_f + alpha * RNG.normal(size=n)}
    assert noise_variance_share(readout) == pytest.approx(0.64, abs=0.005)  # sampling error about 0.002


def test_units_at_zero_are_left_out_and_too_few_units_are_refused():
    f = np.array([0.0, 0.0, 1.0, 2.0, 4.0])
    alpha = np.array([0.7, 0.7, 0.1, 0.1, 0.1])
    log_z = np.log(np.where(f > 0, f, 1.0)) + np.where(f > 0, 0.0, -np.inf)
    share = noise_variance_share({"f": f, "alpha": alpha, "log_z": log_z})
    assert share == pytest.approx(0.01 / np.var(np.log([1.0, 2.0, 4.0])))
    with pytest.raises(ValueError, match="fewer than 2 units"):
        noise_variance_share({"f": f[:3], "alpha": alpha[:3], "log_z": log_z[:3]})


def test_noise_free_log_activations_are_log_f_with_every_noise_off():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    hidden = InformationDropout(keras.layers.Dense(6), kl_weight=0.0, activation="relu", seed=1)(inputs)
    last = InformationDropout(keras.layers.Dense(4), kl_weight=0.0, activation="softplus", seed=2)
    model = keras.Model(inputs, last(hidden))
    x = RNG.normal(size=(30, 5)).astype("float32")
    log_f = noise_free_log_activations(model, x, layer=last, batch_size=10)
    # By hand: the layer below without noise (its f), then the last layer's f.
    f_below, _ = model.layers[1].activations_and_alpha(x)
    f_last, _ = last.activations_and_alpha(f_below)
    np.testing.assert_allclose(log_f, np.log(ops.convert_to_numpy(f_last)), rtol=1e-5, atol=1e-6)
    # The noisy read-out of the same layer differs (the noise is on there), and its share is in (0, 1).
    noisy = layer_readouts(model, x, layer=last, batch_size=10, noisy=True)
    assert not np.allclose(noisy["log_z"], log_f)
    assert 0.0 < noise_variance_share(noisy) < 1.0
