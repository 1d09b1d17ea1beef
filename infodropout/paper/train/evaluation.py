"""The paper's test protocol (SPEC §5): the batch-norm dry run with the noise off, then the deterministic
network on the test set; the training error measured the same way; and loading a saved network."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import infodropout.vae  # noqa: F401  (registers the VAE's layer, and with it infodropout.layers, for load_network)
from infodropout.layers import iter_layers, noise_scale
from infodropout.paper.train.checkpoint import CheckpointError
from infodropout.paper.train.trainer import Classifier, TrainSettings, batches

def recalibrate_batch_norm(network: keras.Model, x_train: np.ndarray, batch_size: int) -> None:
    """The original test protocol's "dry run": one pass over the training set with the noise off
    (σ0 = 0) but batch norm in training mode, so that its moving statistics are those of the
    noiseless activations the test will see. A network without batch norm is left as it is."""
    if not any(isinstance(layer, keras.layers.BatchNormalization) for layer in iter_layers(network)):
        return
    step = tf.function(lambda images: network(images, training=True))
    with noise_scale(network, 0.0):
        for images in tf.data.Dataset.from_tensor_slices(x_train).batch(batch_size):
            step(images)


def evaluate_classifier(
    network: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    weight_decay: float,
    verbose: int | str = "auto",
) -> dict:
    """Loss, Lx, Lz and error (%) of the deterministic network (noise off) on (x, y)."""
    classifier = Classifier(network, weight_decay=weight_decay)
    classifier.compile(loss=classifier.task_loss_function(), jit_compile=False)  # Keras would pick XLA, slower on CPU
    return {k: float(v) for k, v in classifier.evaluate(
        batches(x, y, batch_size), return_dict=True, verbose=verbose).items()}


def load_network(checkpoint: str | os.PathLike) -> keras.Model:
    """Load a network saved by :func:`train_classifier`; a missing file is a FileNotFoundError and an
    unreadable one a :class:`CheckpointError`, both saying what to do."""
    if not Path(checkpoint).exists():
        raise FileNotFoundError(
            f"no checkpoint at {checkpoint}: train it first with the same `with` values (`train with ...`)."
        )
    again = "train it again with `train with` the same values and restart=True"
    try:
        return keras.models.load_model(checkpoint)  # safe_mode: no Python code in a file is ever run
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, TypeError, AttributeError) as error:
        text = str(error)
        if "safe_mode" in text or "unsafe" in text.lower():
            raise CheckpointError(
                f"{checkpoint} was refused: it holds Python code (a Lambda layer or a function), which Keras's "
                "safe mode will not run, as loading it could run anything; this project never writes such a "
                f"file. Delete it and {again}.") from error
        match = re.search(r"[Cc]ould not (?:locate|deserialize)[^'`]*['`]([\w.]+)['`]", text)
        if match:
            raise CheckpointError(
                f"{checkpoint} names a class this code does not know ({match.group(1)}): it was written by other "
                f"code or another version of infodropout. Use that code to read it, or {again}.") from error
        raise CheckpointError(f"{checkpoint} {_damage(Path(checkpoint), error)}; {again}.") from error


def _damage(path: Path, error: Exception) -> str:
    """What is wrong with a .keras file Keras could not load, in words: Keras calls a corrupt archive "not
    found", which would send the reader looking for a file that is there."""
    if not zipfile.is_zipfile(path):
        return (f"is corrupt: {path.stat().st_size:,} bytes that are not a .keras (zip) archive, as a copy cut short "
                "or overwritten leaves")
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as damaged:
        return f"is corrupt: its zip archive cannot be read ({damaged})"
    if broken is not None:
        return f"is corrupt: {broken} inside it fails its checksum"
    missing = {"config.json", "model.weights.h5"} - names
    if missing:
        return f"is incomplete: it lacks {', '.join(sorted(missing))}"
    return f"is unreadable ({type(error).__name__}: {str(error)[:200]})"


def test_classifier(network: keras.Model, x_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                    settings: TrainSettings, verbose: int | str = "auto") -> dict:
    """The paper's test protocol: the batch-norm dry run on the training inputs, then evaluation
    of the deterministic network on the test set."""
    recalibrate_batch_norm(network, x_train, settings.batch_size)
    return evaluate_classifier(network, x_test, y_test, settings.batch_size, settings.weight_decay,
                               verbose=verbose)


# The training images on which a run's training error is measured: bounded, so that it costs at most
# a 10,000-image test pass whatever the data set's size.
TRAIN_ERROR_IMAGES = 10_000


def training_error(network: keras.Model, x_train: np.ndarray, y_train: np.ndarray, settings: TrainSettings,
                   limit: int = TRAIN_ERROR_IMAGES) -> float:
    """The error (%) on the first ``limit`` training images, measured as the test is: deterministic
    network (noise off), batch norm in inference mode. Call it after :func:`test_classifier`, whose
    batch-norm dry run over the training set it relies on. Beside the test error it says whether a
    network learned at all (both high) or overfits (training error far below the test error)."""
    return evaluate_classifier(network, x_train[:limit], y_train[:limit], settings.batch_size,
                               settings.weight_decay, verbose=0)["error"]
