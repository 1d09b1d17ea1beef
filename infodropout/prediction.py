"""Prediction with the noise on: Monte-Carlo averaging and the paper's "noisy representation (N)"."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf

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


def mc_predict(model: keras.Model, x: np.ndarray, samples: int = 10, batch_size: int = 100,
               from_logits: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Average the softmax of ``samples`` noisy forward passes (noise on, batch norm at test mode).

    Returns the mean class probabilities and their standard deviation over the samples, both of shape
    (len(x), classes). ``from_logits=False`` if the model already ends in a softmax.
    """
    if samples < 1:
        raise ValueError(f"mc_predict: samples must be >= 1, got {samples}.")
    with stochastic_inference(model):
        @tf.function
        def probabilities(images):
            outputs = model(images, training=True)
            return tf.nn.softmax(outputs) if from_logits else outputs

        means, stds = [], []
        for start in range(0, len(x), batch_size):
            draws = np.stack([probabilities(x[start:start + batch_size]).numpy() for _ in range(samples)])
            means.append(draws.mean(axis=0))
            stds.append(draws.std(axis=0))
    return np.concatenate(means), np.concatenate(stds)


def noisy_error(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 100) -> float:
    """Classification error (%) with the noise on and batch norm in test mode: the paper's "noisy
    representation (N)", one noise draw per image."""
    with stochastic_inference(model):
        logits = tf.function(lambda images: model(images, training=True))
        wrong = sum(int(np.sum(np.argmax(logits(x[i:i + batch_size]).numpy(), axis=-1) != y[i:i + batch_size]))
                    for i in range(0, len(x), batch_size))
    return 100.0 * wrong / len(x)
