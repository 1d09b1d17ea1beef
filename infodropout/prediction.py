"""Prediction with the noise on: Monte-Carlo averaging and the paper's "noisy representation (N)"."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import numpy as np
from keras import ops

from infodropout.layers import iter_layers


@contextlib.contextmanager
def stochastic_inference(model: keras.layers.Layer) -> Iterator[None]:
    """Within this context, ``model(x, training=True)`` samples every noise layer's noise while batch
    norm uses its moving statistics, as at test time.

    Keras runs a BatchNormalization whose ``trainable`` is False in inference mode whatever
    ``training`` says, so the switch is to freeze batch norm for the duration (restored after).
    Functions traced inside the context keep this behaviour; trace them anew after it.
    """
    layers = [layer for layer in iter_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    previous = [layer.trainable for layer in layers]
    for layer in layers:
        layer.trainable = False
    try:
        yield
    finally:
        for layer, old in zip(layers, previous):
            layer.trainable = old


def _noisy_outputs(model: keras.Model, x: np.ndarray, batch_size: int, samples: int):
    """For each batch of ``x``: a (samples, batch, ...) numpy array of outputs with the noise on."""
    for start in range(0, len(x), batch_size):
        batch = ops.convert_to_tensor(x[start:start + batch_size])
        yield np.stack([keras.ops.convert_to_numpy(model(batch, training=True)) for _ in range(samples)])


def mc_predict(model: keras.Model, x: np.ndarray, samples: int = 10, batch_size: int = 100,
               from_logits: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Average the softmax of ``samples`` noisy forward passes (noise on, batch norm at test mode).

    Returns the mean class probabilities and their standard deviation over the samples, both of shape
    (len(x), classes), in float32 whatever the dtype policy (float64 for a float64 model). ``from_logits=False`` if the model already ends in a softmax. Runs eagerly on
    every Keras backend (TensorFlow, JAX, PyTorch).

    Example::

        mean, spread = mc_predict(model, x_test, samples=20)
        uncertain = spread.max(axis=-1) > 0.2
    """
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"mc_predict: samples must be an integer >= 1, got {samples!r}.")
    if batch_size < 1:
        raise ValueError(f"mc_predict: batch_size must be >= 1, got {batch_size!r}.")
    means, stds = [], []
    with stochastic_inference(model):
        for draws in _noisy_outputs(model, x, batch_size, samples):
            # Under a mixed policy the outputs are 16-bit: probabilities are computed and returned in float32 (at
            # least), as Keras's own softmax outputs are meant to be read, so that each row sums to 1.
            draws = draws.astype(np.float64 if draws.dtype == np.float64 else np.float32)
            if from_logits:
                draws = np.exp(draws - draws.max(axis=-1, keepdims=True))
                draws /= draws.sum(axis=-1, keepdims=True)
            means.append(draws.mean(axis=0))
            stds.append(draws.std(axis=0))
    return np.concatenate(means), np.concatenate(stds)


def noisy_error(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 100) -> float:
    """Classification error (%) with the noise on and batch norm in test mode: the paper's "noisy
    representation (N)", one noise draw per image."""
    with stochastic_inference(model):
        wrong = sum(int(np.sum(np.argmax(draws[0], axis=-1) != y[start:start + batch_size]))
                    for start, draws in zip(range(0, len(x), batch_size), _noisy_outputs(model, x, batch_size, 1)))
    return 100.0 * wrong / len(x)
