"""Read-outs of trained networks: per-layer KL maps, noisy log-activations and total correlation."""

from __future__ import annotations

import keras
import numpy as np

from infodropout.layers import InformationDropout, information_dropout_layers
from infodropout.prediction import stochastic_inference


def layer_readouts(
    model: keras.Model,
    x: np.ndarray,
    layer: InformationDropout | int = -1,
    batch_size: int = 100,
    noisy: bool = False,
) -> dict[str, np.ndarray]:
    """``InformationDropout.readout`` of one layer of a functional ``model`` over the inputs ``x``.

    ``layer`` is the layer or its index among the model's Information Dropout layers. With
    ``noisy=True`` every noise layer of the network, this one included, samples its noise (batch norm
    stays in inference mode); otherwise the network is deterministic (σ0 = 0).
    Returns numpy arrays ``f``, ``alpha``, ``kl``, ``z`` and ``log_z`` with one row per input.
    """
    if not isinstance(layer, InformationDropout):
        layers = information_dropout_layers(model)
        if not layers:
            raise ValueError(f"model {model.name!r} has no InformationDropout layer.")
        layer = layers[layer]
    features = keras.Model(model.input, layer.input)
    chunks: dict[str, list[np.ndarray]] = {}
    with stochastic_inference(model):
        for start in range(0, len(x), batch_size):
            inputs = features(x[start:start + batch_size], training=noisy)
            readout = layer.readout(inputs, noise_scale=1.0 if noisy else 0.0, training=False)
            for key, value in readout.items():
                chunks.setdefault(key, []).append(keras.ops.convert_to_numpy(value))
    return {key: np.concatenate(values) for key, values in chunks.items()}


def total_correlation(samples: np.ndarray, per_unit: bool = True) -> float:
    """Total correlation of Gaussian-approximated samples (SPEC §7):
    ``TC = −½ log det(Σ0⁻¹ Σ)`` with Σ the sample covariance and Σ0 its diagonal.

    ``samples`` has one row per example (further axes are flattened into units). With
    ``per_unit`` the value is divided by the number of units, as in the original code.
    It is 0 for independent units and grows with their dependence.
    """
    data = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    if not np.all(np.isfinite(data)):
        raise ValueError("total_correlation needs finite samples (log z is -inf where a ReLU unit is 0; use Softplus).")
    if data.shape[0] <= data.shape[1]:
        raise ValueError(
            f"total_correlation needs more samples than units to estimate a full-rank covariance, "
            f"got {data.shape[0]} samples of {data.shape[1]} units."
        )
    covariance = np.cov(data, rowvar=False)
    std = np.sqrt(np.diag(covariance))
    # det(Σ0⁻¹Σ) is the determinant of the correlation matrix, better conditioned than Σ itself.
    sign, logdet = np.linalg.slogdet(covariance / np.outer(std, std))
    if sign <= 0:
        raise ValueError("total_correlation: the sample covariance is singular.")
    tc = -0.5 * logdet
    return float(tc / data.shape[1]) if per_unit else float(tc)
