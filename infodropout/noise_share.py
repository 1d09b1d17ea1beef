"""How much of what is measured on the noisy activations is the injected noise's, and the same measurement on the
network's own, noise-free activations.

Figure 1 and figure 5 read log z = log f(x) + α(x)·n, n ~ N(0, 1). The noise term alone is normal given α, and it
is independent across units: so "log z looks normal" (1b) and "the units of log z grow independent" (5a) can follow
from the noise growing with β rather than from what the network computes. These read-outs tell the two apart: the
share of log z's variance that the layer's own noise makes up, and log f(x) from a pass with every noise off.
"""

from __future__ import annotations

import keras
import numpy as np

from infodropout.layers import InformationDropout
from infodropout.readouts import layer_readouts


def noise_variance_share(readout: dict[str, np.ndarray]) -> float:
    """E[α²] / Var(log z) over the units with f(x) > 0 of a noisy read-out (``layer_readouts(..., noisy=True)``).

    With n independent of f and α and of mean 0, Var(log z) = Var(log f) + E[α²] exactly, so this is the share of
    log z's variance that the layer's injected noise makes up: 0 for no noise, 1 for a log z that is noise only.
    (Noise of the layers below reaches log f here and counts as the network's.)"""
    f, alpha, log_z = (np.asarray(readout[key], dtype=np.float64).ravel() for key in ("f", "alpha", "log_z"))
    active = (f > 0) & np.isfinite(log_z)
    if active.sum() < 2:
        raise ValueError("noise_variance_share: fewer than 2 units with f(x) > 0.")
    return float(np.mean(alpha[active] ** 2) / np.var(log_z[active]))


def noise_free_log_activations(model: keras.Model, x: np.ndarray, layer: InformationDropout | int = -1,
                               batch_size: int = 100) -> np.ndarray:
    """log f(x) of ``layer`` from a pass with every noise layer off (−inf where a ReLU unit is 0): what the network
    computes, to set beside the same measurement on the noisy log z."""
    f = layer_readouts(model, x, layer=layer, batch_size=batch_size, noisy=False)["f"]
    with np.errstate(divide="ignore"):
        return np.log(f.astype(np.float64))
