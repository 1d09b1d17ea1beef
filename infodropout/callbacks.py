"""The α monitor: a Keras callback that logs every Information Dropout layer's α and KL per epoch."""

from __future__ import annotations

import warnings

import keras
import numpy as np

from infodropout.kl import ALPHA_FLOOR
from infodropout.layers import information_dropout_layers
from infodropout.readouts import all_layer_readouts, dead_unit_fractions


class AlphaCollapseWarning(UserWarning):
    """Most of a layer's α sit at a bound: the noise no longer adapts to the input."""


def functional_network(model: keras.Model) -> keras.Model:
    """The functional network whose layers a readout can reach: ``model`` itself when it is a functional (or
    Sequential) model, else the first functional model nested in it that holds an Information Dropout layer, as
    the network an :class:`~infodropout.InformationBottleneck` (or any wrapper model) trains.

    A readout builds a model from the network's symbolic inputs to its layers' inputs, which only a functional
    model has; a subclassed wrapper called on data has none."""
    if _has_symbolic_input(model):
        return model
    nested = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
              if isinstance(layer, keras.Model) and _has_symbolic_input(layer)]
    for candidate in nested:
        if information_dropout_layers(candidate):
            return candidate
    if nested:
        return nested[0]
    raise ValueError(
        f"{type(model).__name__} {model.name!r} is not a functional model and holds none, so its layers' "
        "inputs cannot be read: build the network with the functional API (keras.Model(inputs, outputs)) or "
        "keras.Sequential, or pass it as network=... .")


def _has_symbolic_input(model: keras.layers.Layer) -> bool:
    try:
        model.input
    except (AttributeError, ValueError):  # Keras raises either for a layer never called on symbolic inputs
        return False
    return True


class AlphaMonitor(keras.callbacks.Callback):
    """Adds, after each epoch, every Information Dropout layer's α statistics to the epoch's logs.

    For each layer ``L`` of ``network`` (a functional model; by default the functional network of the model
    being trained, found inside an :class:`~infodropout.InformationBottleneck` or other wrapper) it
    reads α and the KL on ``probe`` inputs with the noise off and batch norm in test mode, and sets
    ``L.alpha_mean``, ``L.alpha_min``, ``L.alpha_max`` and ``L.kl_per_unit`` (the mean KL of one unit on
    one example). Callbacks after this one see them: the history file, sacred and
    ``keras.callbacks.TensorBoard`` record them. If more than ``collapse_fraction`` of a layer's α lie
    within 1 % of max_alpha of either bound, it warns (:class:`AlphaCollapseWarning`).

    Example::

        model.fit(x, y, callbacks=[AlphaMonitor(x[:500]), keras.callbacks.TensorBoard("logs")])

    ``model`` may be the network itself or an :class:`~infodropout.InformationBottleneck` around it.
    """

    def __init__(self, probe: np.ndarray, network: keras.Model | None = None, batch_size: int = 100,
                 collapse_fraction: float = 0.9):
        super().__init__()
        self.probe = probe
        self.network = network
        self.batch_size = batch_size
        self.collapse_fraction = collapse_fraction

    def statistics(self) -> dict[str, float]:
        network = functional_network(self.network if self.network is not None else self.model)
        stats = {}
        layers = information_dropout_layers(network)
        if not layers:
            return stats
        for layer, readout in zip(layers, all_layer_readouts(network, self.probe, layers, self.batch_size)):
            alpha, kl = readout["alpha"], readout["kl"]
            stats.update({
                f"{layer.name}.alpha_mean": float(alpha.mean()),
                f"{layer.name}.alpha_min": float(alpha.min()),
                f"{layer.name}.alpha_max": float(alpha.max()),
                f"{layer.name}.kl_per_unit": float(kl.mean()),
            })
            margin = 0.01 * layer.max_alpha
            at_bound = np.mean((alpha <= ALPHA_FLOOR + margin) | (alpha >= ALPHA_FLOOR + layer.max_alpha - margin))
            if at_bound > self.collapse_fraction:
                warnings.warn(
                    f"{layer.name}: α is at a bound for {at_bound:.0%} of the units; the noise has stopped "
                    "adapting to the input (try another beta, max_alpha or learning rate).",
                    AlphaCollapseWarning, stacklevel=2)
        return stats

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.statistics())


class DeadUnitMonitor(keras.callbacks.Callback):
    """Adds, after each epoch, ``L.dead_fraction`` for every ReLU dense layer ``L`` of ``network`` (by default the
    functional network of the model being trained, as for :class:`AlphaMonitor`): the share
    of its units whose output is 0 on every ``probe`` input (:func:`infodropout.readouts.dead_unit_fractions`).
    A dead unit gets no gradient again, so a large share is an optimisation failure (e.g. too large a
    learning rate), which a comparison of regularisers must not read as their effect."""

    def __init__(self, probe: np.ndarray, network: keras.Model | None = None, batch_size: int = 100):
        super().__init__()
        self.probe = probe
        self.network = network
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            network = functional_network(self.network if self.network is not None else self.model)
            fractions = dead_unit_fractions(network, self.probe, self.batch_size)
            logs.update({f"{name}.dead_fraction": value for name, value in fractions.items()})
