"""What a trained network's layers hold, read out over inputs: each Information Dropout layer's f, α,
KL, z and log z (noisy or not), the information each layer lets through (figure 6), and the share of
dead units of its ReLU layers."""

from __future__ import annotations

import keras
import numpy as np

from infodropout.layers import InformationDropout, information_dropout_layers
from infodropout.prediction import stochastic_inference


def all_layer_readouts(
    model: keras.Model,
    x: np.ndarray,
    layers: list[InformationDropout] | None = None,
    batch_size: int = 100,
    noisy: bool = False,
) -> list[dict[str, np.ndarray]]:
    """``InformationDropout.readout`` of several layers of a functional ``model`` over the inputs ``x``,
    from one pass of the network per batch (by default every Information Dropout layer, in order).

    With ``noisy=True`` every noise layer of the network, these included, samples its noise (batch
    norm stays in inference mode); otherwise the network is deterministic (σ0 = 0). Returns, per
    layer, numpy arrays ``f``, ``alpha``, ``kl``, ``z`` and ``log_z`` with one row per input.
    """
    layers = information_dropout_layers(model) if layers is None else layers
    if not layers:
        raise ValueError(f"model {model.name!r} has no InformationDropout layer.")
    features = keras.Model(model.input, [layer.input for layer in layers])
    chunks: list[dict[str, list[np.ndarray]]] = [{} for _ in layers]
    with stochastic_inference(model):
        for start in range(0, len(x), batch_size):
            inputs = features(x[start:start + batch_size], training=noisy)
            if len(layers) == 1:  # Keras returns a one-output model's output bare, not in a list
                inputs = [inputs]
            for layer, layer_inputs, layer_chunks in zip(layers, inputs, chunks):
                readout = layer.readout(layer_inputs, noise_scale=1.0 if noisy else 0.0, training=False)
                for key, value in readout.items():
                    layer_chunks.setdefault(key, []).append(keras.ops.convert_to_numpy(value))
    return [{key: np.concatenate(values) for key, values in layer_chunks.items()} for layer_chunks in chunks]


def layer_readouts(
    model: keras.Model,
    x: np.ndarray,
    layer: InformationDropout | int = -1,
    batch_size: int = 100,
    noisy: bool = False,
) -> dict[str, np.ndarray]:
    """:func:`all_layer_readouts` of one layer, given as the layer or its index among the model's
    Information Dropout layers."""
    if not isinstance(layer, InformationDropout):
        layers = information_dropout_layers(model)
        if not layers:
            raise ValueError(f"model {model.name!r} has no InformationDropout layer.")
        layer = layers[layer]
    return all_layer_readouts(model, x, [layer], batch_size, noisy)[0]


def information_per_layer(model: keras.Model, x: np.ndarray, batch_size: int = 100) -> dict[str, dict[str, float]]:
    """Figure 6: for each Information Dropout layer, the information it lets through, measured by its
    KL: ``total`` (summed over the layer's units, averaged over the inputs, in nats) and ``per_unit``
    (``total`` divided by the number of units). Deterministic network."""
    result = {}
    for layer, readout in zip(information_dropout_layers(model), all_layer_readouts(model, x, batch_size=batch_size)):
        kl = readout["kl"].reshape(len(x), -1)
        total = float(kl.sum(axis=1).mean())
        result[layer.name] = {"total": total, "per_unit": total / kl.shape[1]}
    return result


def relu_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of ``model`` whose output is a ReLU of a dense map: Dense layers with a ReLU
    activation and Information Dropout layers wrapping a Dense layer with one, in order."""
    relu = keras.activations.get("relu")
    found = []
    for layer in model.layers:
        if isinstance(layer, InformationDropout):
            if isinstance(layer.layer, keras.layers.Dense) and layer.activation is relu:
                found.append(layer)
        elif isinstance(layer, keras.layers.Dense) and getattr(layer, "activation", None) is relu:
            found.append(layer)
    return found


def dead_unit_fractions(model: keras.Model, x: np.ndarray, batch_size: int = 100) -> dict[str, float]:
    """For each ReLU dense layer of ``model`` (see :func:`relu_layers`), the share of its units that are
    dead on the probe inputs ``x``: ReLU output exactly 0 on every one of them, so that no gradient
    reaches their weights and they stay dead. Read with the noise off (an Information Dropout layer
    then outputs f(x) itself; multiplicative noise never revives a zero). Keys are the layer names."""
    layers = relu_layers(model)
    if not layers:
        return {}
    features = keras.Model(model.input, [layer.output for layer in layers])
    alive = [None] * len(layers)
    for start in range(0, len(x), batch_size):
        outputs = features(x[start:start + batch_size], training=False)  # noise off, batch norm in test mode
        if len(layers) == 1:  # Keras returns a one-output model's output bare
            outputs = [outputs]
        for index, output in enumerate(outputs):
            active = np.any(keras.ops.convert_to_numpy(output) > 0, axis=0)
            alive[index] = active if alive[index] is None else alive[index] | active
    return {layer.name: float(1.0 - np.mean(active)) for layer, active in zip(layers, alive)}
