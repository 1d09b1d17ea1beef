#!/usr/bin/env python3
"""Information Dropout in a small model of your own, on any Keras backend, in about a minute of CPU.

    KERAS_BACKEND=jax python examples/own_model.py        # or tensorflow, torch

It trains a small network with two Information Dropout layers (ReLU with the log-uniform prior, and
Softplus with batch norm and the log-normal prior) on the real MNIST digits shipped with the package, logs α per
layer and epoch with AlphaMonitor, saves the model to .keras and loads it back, and uses mc_predict's softmax
averaged over noisy passes as a predictive uncertainty: the digits it is least confident of are the ones it gets wrong most often.
It needs only keras, numpy and one backend (`pip install .` from a checkout); it exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import tempfile
import time

import keras
import numpy as np

import infodropout
from infodropout import AlphaMonitor, InformationDropout, mc_predict


def mnist_sample(n_train: int, n_test: int):
    """Digits from the 10,000 real MNIST images embedded in the package, as (N, 28, 28, 1) floats in [0, 1]."""
    with importlib.resources.as_file(importlib.resources.files(infodropout) / "resources" / "mnist-sample.npz") as path:
        with np.load(path) as archive:
            images, labels = archive["images"], archive["labels"].astype("int64")
    x = (images.astype("float32") / 255.0)[..., None]
    return (x[:n_train], labels[:n_train]), (x[-n_test:], labels[-n_test:])


def build_model(n_train: int, beta: float = 1.0) -> keras.Model:
    """Two hidden layers, each one Information Dropout layer: the noise is part of the layer."""
    kl_weight = beta / n_train  # the paper's β, divided by N because the cross-entropy is a per-example mean
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(inputs)
    x = InformationDropout(keras.layers.Dense(128), kl_weight=kl_weight, activation="relu", max_alpha=0.7,
                           name="relu_dropout")(x)
    x = InformationDropout(keras.layers.Dense(64, use_bias=False), kl_weight=kl_weight, activation="softplus",
                           batch_norm=True, max_alpha=0.7, name="softplus_dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x), name="my_model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train", type=int, default=3000, help="training digits (of 10,000)")
    parser.add_argument("--samples", type=int, default=20, help="noisy passes for mc_predict")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"Keras {keras.__version__} on {keras.backend.backend()}; infodropout from {os.path.dirname(infodropout.__file__)}")
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = mnist_sample(args.train, 1000)

    model = build_model(len(x_train))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    # AlphaMonitor adds each layer's α mean/min/max and mean KL per unit to the epoch's logs (so to the history).
    history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=0,
                        callbacks=[AlphaMonitor(x_train[:500])]).history
    for epoch in range(args.epochs):
        print(f"epoch {epoch + 1}: loss {history['loss'][epoch]:.3f}  " + "  ".join(
            f"{name} α {history[f'{name}.alpha_mean'][epoch]:.3f} "
            f"({history[f'{name}.alpha_min'][epoch]:.3f}-{history[f'{name}.alpha_max'][epoch]:.3f})"
            for name in ("relu_dropout", "softplus_dropout")))
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test error {100 * (1 - accuracy):.1f} % (noise off)")

    # Save and load: importing infodropout registered the layer with Keras.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "my_model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-5)
    print("saved to .keras and loaded back: the same predictions")

    # Predictive uncertainty: the softmax averaged over noisy passes (noise on, batch norm in test mode).
    mean, spread = mc_predict(loaded, x_test, samples=args.samples)
    wrong = mean.argmax(axis=1) != y_test
    confidence = mean.max(axis=1)  # the averaged probability of the predicted class
    unsure = confidence <= np.quantile(confidence, 0.1)
    print(f"mc_predict ({args.samples} samples): test error {100 * wrong.mean():.1f} %; "
          f"on the 10 % least confident digits {100 * wrong[unsure].mean():.1f} %, "
          f"on the others {100 * wrong[~unsure].mean():.1f} %")
    assert mean.shape == (len(x_test), 10) and np.allclose(mean.sum(axis=1), 1.0, atol=1e-4)
    assert spread.max() > 0, "mc_predict's passes should differ: the noise is on"
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
