"""Figure 1 in numbers: the summary (mean, spread, share at 0) and the shape (distances to a uniform
and to a normal, skew, kurtosis) of a layer's log-activations log z."""

from __future__ import annotations

import numpy as np


def log_activation_summary(log_z: np.ndarray) -> dict:
    """What figure 1 shows, in numbers: the mean and standard deviation of the finite values of
    log z, and the share of units at 0 (ReLU units that are off have no logarithm)."""
    values = np.asarray(log_z, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("log_activation_summary: every activation is 0.")
    return {"log_z_mean": float(finite.mean()), "log_z_std": float(finite.std()),
            "zero_fraction": float(1.0 - finite.size / values.size)}


def _ks_distance(sorted_values: np.ndarray, cdf: np.ndarray) -> float:
    """The Kolmogorov–Smirnov distance between the empirical distribution of ``sorted_values`` and a
    distribution whose CDF at those values is ``cdf``."""
    n = len(sorted_values)
    above = np.arange(1, n + 1) / n - cdf
    below = cdf - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


def log_activation_shape(log_z: np.ndarray, max_values: int = 1_000_000, seed: int = 0) -> dict:
    """Figure 1's shape, in numbers, for the claims "log z is about uniform" (ReLU, log-uniform prior) and
    "log z is about normal" (Softplus, log-normal prior). Over the finite values of log z (units at 0
    have no logarithm and are counted apart by :func:`log_activation_summary`):

    - ``ks_uniform_central``: the KS distance of the values inside their 5–95 % quantile range to a
      uniform on that range (0 for a flat density; a normal gives :data:`KS_NORMAL_TO_UNIFORM_CENTRAL`);
    - ``ks_normal``: the KS distance to a normal of the same mean and standard deviation;
    - ``skew`` and ``excess_kurtosis`` (0 and 0 for a normal; 0 and −1.2 for a uniform).

    At most ``max_values`` values are used, drawn without replacement with ``seed``.
    """
    values = np.asarray(log_z, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size < 10:
        raise ValueError(f"log_activation_shape needs at least 10 finite values of log z, got {values.size}.")
    if values.size > max_values:
        values = np.random.default_rng(seed).choice(values, max_values, replace=False)
    values = np.sort(values)
    low, high = np.quantile(values, [0.05, 0.95])
    central = values[(values >= low) & (values <= high)]
    mean, std = values.mean(), values.std()
    if std == 0 or high == low:
        raise ValueError("log_activation_shape: log z is constant.")
    standard = (values - mean) / std
    normal_cdf = 0.5 * (1.0 + _erf(standard / np.sqrt(2.0)))
    return {"ks_uniform_central": _ks_distance(central, (central - low) / (high - low)),
            "ks_normal": _ks_distance(values, normal_cdf),
            "skew": float(np.mean(standard ** 3)), "excess_kurtosis": float(np.mean(standard ** 4) - 3.0),
            "shape_values": int(values.size)}


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to within 1.5e-7 (Abramowitz & Stegun 7.1.26), ample for a KS distance; the
    library may not import scipy."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


# The KS distance to a uniform on the 5–95 % range of an exact normal restricted to that range: how far from
# flat a bell-shaped log z reads on ``ks_uniform_central``; figure 1's ReLU claim is judged against it.
KS_NORMAL_TO_UNIFORM_CENTRAL = 0.0776
