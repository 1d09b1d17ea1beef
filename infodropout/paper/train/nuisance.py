"""Figure 4's nuisance probe: how well the occluding digit can be read from a trained network's representation,
beside two baselines, chance and the same probe on an untrained network of the same architecture.

The probe reads the frozen network's noisy output at two places, side by side along the channels: the last
dropout layer's z (the representation the KL bounds) and the layer named ``representation`` (the paper's
nuisance task reads it). Both are 8×8 maps in All-CNN-32. The features are computed once, one noise draw per
image (noise on, batch norm at its moving statistics: the paper's noisy representation N), so that the probe
can be trained for as many epochs as it needs to fit its own training set: without weight decay, with Adam at a
constant rate for three quarters of its epochs and a tenth of it after. Its training error is reported beside its
test error, so that a high nuisance error reads as "the digit is not in the representation" only where the
probe did fit what it was shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from infodropout.models import nuisance_probe
from infodropout.prediction import stochastic_inference
from infodropout.paper.train.evaluation import evaluate_classifier, recalibrate_batch_norm
from infodropout.paper.train.trainer import Classifier, TrainSettings, fit_trainer

# A classifier that ignores the image errs on 9 of every 10 balanced digits.
NUISANCE_CLASSES = 10
CHANCE_ERROR = 100.0 * (1 - 1 / NUISANCE_CLASSES)


@dataclass(frozen=True)
class ProbeSchedule:
    """How the probe is trained: Adam at ``learning_rate`` for 3/4 of ``epochs``, a tenth of it after; no weight
    decay (it would hold the probe back from fitting its training set, the point of the probe)."""

    epochs: int = 20
    # At 1e-3 the probe was still at 64 % training error after 20 epochs on 1,000 images of Occluded Fashion-MNIST
    # (a β = 0 network's features); at 3e-3 it reached 27 % in 60.
    learning_rate: float = 3e-3
    batch_size: int = 100
    seed: int = 0

    def settings(self) -> TrainSettings:
        drop = (3 * self.epochs + 3) // 4  # rounded up: 1 epoch → no drop, 4 → at 3, 20 → at 15
        return TrainSettings(batch_size=self.batch_size, epochs=self.epochs, learning_rate=self.learning_rate,
                             lr_drops=(drop,) if drop < self.epochs else (), weight_decay=0.0,
                             seed=self.seed, optimizer="adam")


def last_dropout_layer(network: keras.Model) -> keras.layers.Layer | None:
    """The last Information or binary dropout layer of an All-CNN (None for ``dropout=none``)."""
    found = [layer for layer in network.layers if re.fullmatch(r"(information|binary)_dropout\d+", layer.name)]
    return found[-1] if found else None


def nuisance_features(network: keras.Model, x: np.ndarray, batch_size: int = 100) -> np.ndarray:
    """The last dropout layer's z and the ``representation`` layer's output for every image of ``x``, concatenated
    along the channels (float32, (N, H, W, C_z + C_representation)): one forward pass, noise on (one draw per
    image), batch norm at its moving statistics. Without a dropout layer, the representation alone."""
    outputs = [network.get_layer("representation").output]
    last = last_dropout_layer(network)
    if last is not None:
        outputs.insert(0, last.output)
    shapes = {tuple(output.shape[1:3]) for output in outputs}
    if len(shapes) != 1:
        raise ValueError(f"the last dropout layer and the representation have different spatial shapes {shapes}: "
                         "they cannot be read side by side.")
    readout = keras.Model(network.input, outputs)
    parts = []
    with stochastic_inference(readout):
        for start in range(0, len(x), batch_size):
            values = readout(keras.ops.convert_to_tensor(x[start:start + batch_size]), training=True)
            values = values if isinstance(values, (list, tuple)) else [values]
            parts.append(np.concatenate([keras.ops.convert_to_numpy(v) for v in values], axis=-1))
    return np.concatenate(parts).astype(np.float32, copy=False)


def train_nuisance_probe(features: np.ndarray, nuisance: np.ndarray, schedule: ProbeSchedule,
                         checkpoint: str | os.PathLike, **kwargs) -> keras.Model:
    """Train :func:`infodropout.models.nuisance_probe` on precomputed ``features`` (see :func:`nuisance_features`)
    to predict ``nuisance``, with :func:`~infodropout.paper.train.trainer.fit_trainer` (so it is saved, resumed and
    reused as any run is; ``kwargs`` go to it); returns the trained probe."""
    probe = nuisance_probe(tuple(features.shape[1:]), num_classes=NUISANCE_CLASSES)
    fit_trainer(Classifier(probe, weight_decay=0.0), features, np.asarray(nuisance), schedule.settings(),
                checkpoint, monitor_alpha=False, **kwargs)
    return probe


def probe_errors(network: keras.Model, x_train: np.ndarray, nuisance_train: np.ndarray, x_test: np.ndarray,
                 nuisance_test: np.ndarray, schedule: ProbeSchedule, checkpoint: str | os.PathLike,
                 **kwargs) -> tuple[float, float]:
    """(test error, training error) in % of the probe trained on ``network``'s noisy features."""
    features = nuisance_features(network, x_train, schedule.batch_size)
    probe = train_nuisance_probe(features, nuisance_train, schedule, checkpoint, **kwargs)

    def error(values: np.ndarray, labels: np.ndarray) -> float:
        return evaluate_classifier(probe, values, np.asarray(labels), schedule.batch_size, 0.0, verbose=0)["error"]

    train_error = error(features, nuisance_train)
    del features
    return error(nuisance_features(network, x_test, schedule.batch_size), nuisance_test), train_error


def random_network_errors(build: Callable[[], keras.Model], x_train: np.ndarray, nuisance_train: np.ndarray,
                          x_test: np.ndarray, nuisance_test: np.ndarray, schedule: ProbeSchedule,
                          checkpoint: str | os.PathLike, **kwargs) -> tuple[float, float]:
    """:func:`probe_errors` on ``build()``, a network of the same architecture left untrained: its batch norm
    recalibrated on the training inputs (the test protocol's dry run), so that its representation is the
    random one, not one squashed by the initial moving statistics."""
    network = build()
    recalibrate_batch_norm(network, x_train, schedule.batch_size)
    return probe_errors(network, x_train, nuisance_train, x_test, nuisance_test, schedule, checkpoint, **kwargs)
