"""What the estimators (:mod:`infodropout.estimators`) and the probes (:mod:`infodropout.probing`) share:
the :class:`Estimate` type, a float with its standard error and validity; the block jackknife that gives that
standard error over rows; and the numerical helpers: samples as finite float32 matrices, plain and robust
standardisation, a stable log-sum-exp and the small MLPs of the critics and probes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import numpy as np
from numpy.typing import ArrayLike

# Inputs are clipped to this many (robust) standard deviations from the median.
CLIP = 5.0

# InfoNCE is at its ceiling within this share of log K (or 2 standard errors): its bias grows as the truth
# nears log K, so a value there says only that the information is at least about log K.
CEILING_SHARE = 0.1


class Estimate(float):
    """A float (the estimate) with ``stderr``, its standard error, and its validity.

    Attributes:
        stderr: the standard error.
        valid: finite, converged and not at a known ceiling.
        reason: why not, where ``valid`` is false (else ``None``).
        ceiling: the most the estimator can give (InfoNCE: log K), else ``None``.
        at_ceiling: the estimate reaches ``ceiling`` (within 2 standard errors or :data:`CEILING_SHARE` of it).
        history: (step, validation value) pairs recorded during training, for the neural bounds.
    """

    stderr: float
    valid: bool
    reason: str | None
    ceiling: float | None
    history: tuple[tuple[int, float], ...]

    def __new__(cls, value: float, stderr: float, valid: bool | None = None, reason: str | None = None,
                ceiling: float | None = None, history: Sequence[tuple[int, float]] = ()):
        estimate = super().__new__(cls, value)
        estimate.stderr = float(stderr)
        estimate.ceiling = None if ceiling is None else float(ceiling)
        estimate.history = tuple((int(step), float(v)) for step, v in history)
        if reason is None and not (math.isfinite(value) and math.isfinite(estimate.stderr)):
            reason = "not finite"
        if reason is None and estimate.at_ceiling:
            reason = f"at its ceiling log K = {estimate.ceiling:.3f}: the truth may be anywhere above"
        estimate.valid = reason is None if valid is None else bool(valid)
        estimate.reason = None if estimate.valid else (reason or "invalid")
        return estimate

    @classmethod
    def failed(cls, reason: str) -> Estimate:
        """An estimate that could not be made (e.g. the critic's training diverged)."""
        return cls(float("nan"), float("nan"), valid=False, reason=reason)

    @property
    def at_ceiling(self) -> bool:
        if self.ceiling is None or not math.isfinite(self):
            return False
        stderr = self.stderr if math.isfinite(self.stderr) else 0.0
        return self.ceiling - float(self) <= max(2.0 * stderr, CEILING_SHARE * self.ceiling)

    def fields(self, key: str) -> dict:
        """JSON-safe entries for a results row: ``key`` (``None`` where not finite, never NaN),
        ``key_stderr``, ``key_valid``, ``key_reason`` and, for an estimator with a ceiling,
        ``key_ceiling`` and ``key_at_ceiling``."""

        def finite(value: float) -> float | None:
            return float(value) if math.isfinite(value) else None

        entries = {key: finite(self), f"{key}_stderr": finite(self.stderr), f"{key}_valid": self.valid,
                   f"{key}_reason": self.reason}
        if self.ceiling is not None:
            entries.update({f"{key}_ceiling": self.ceiling, f"{key}_at_ceiling": self.at_ceiling})
        return entries

    def __repr__(self) -> str:
        flag = "" if self.valid else f", invalid: {self.reason}"
        return f"Estimate({float(self):.4f} ± {self.stderr:.4f}{flag})"


def as_matrix(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a float32 matrix, one row per sample (a vector becomes one column, further axes are
    flattened); a ValueError names ``name`` where any value is not finite."""
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 1:
        array = array[:, None]
    array = array.reshape(len(array), -1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (got NaN or infinite values).")
    return array


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre and scale each column by the training part's statistics (constant columns left at scale 1)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std < 1e-8] = 1.0
    return [(array - mean) / std for array in (train, *others)]


def robust_standardise(train: np.ndarray, *others: np.ndarray, clip: float = CLIP) -> list[np.ndarray]:
    """Centre each column on the training part's median, scale it by 1.4826 × its median absolute
    deviation (the standard deviation for a Gaussian; the plain standard deviation where that is 0, as for
    a one-hot column; 1 for a constant column) and clip it to ±``clip``: a heavy tail or a few outliers
    cannot then dominate a critic's exponentials. Returns the training part and ``others``, transformed alike."""
    if clip <= 0:
        raise ValueError(f"clip must be positive, got {clip}.")
    train = np.asarray(train, dtype=np.float64)
    median = np.median(train, axis=0)
    scale = 1.4826 * np.median(np.abs(train - median), axis=0)
    small = scale < 1e-8
    scale[small] = train.std(axis=0)[small]
    scale[scale < 1e-8] = 1.0
    return [np.clip((np.asarray(array, dtype=np.float64) - median) / scale, -clip, clip).astype(np.float32)
            for array in (train, *others)]


def log_sum_exp(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """log Σ e^values over ``axis`` (all values with None), shifted by the maximum so that nothing overflows."""
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(values - top), axis=axis))


def jackknife(statistic: Callable[[np.ndarray], float], n: int, blocks: int = 10) -> tuple[float, float]:
    """``statistic`` on all ``n`` rows and its block-jackknife standard error (leave one of ``blocks``
    contiguous blocks of rows out at a time): the rows enter through every pair they belong to, so the
    pairs are not independent and a plain standard error over pairs would be too small."""
    value = statistic(np.arange(n))
    blocks = max(2, min(blocks, n // 2))
    leave_out = [statistic(np.concatenate([part for j, part in enumerate(np.array_split(np.arange(n), blocks))
                                           if j != b])) for b in range(blocks)]
    leave_out = np.asarray(leave_out)
    stderr = math.sqrt((blocks - 1) / blocks * float(np.sum((leave_out - leave_out.mean()) ** 2)))
    return value, stderr


def mlp(hidden: tuple[int, ...], outputs: int, seed: int, name: str, zero_output: bool = False) -> keras.Sequential:
    """ReLU layers of widths ``hidden``, then a linear layer (initialised at 0 with ``zero_output``)."""
    layers = [keras.layers.Dense(width, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed + i))
              for i, width in enumerate(hidden)]
    output_init = "zeros" if zero_output else keras.initializers.GlorotUniform(seed + len(hidden))
    layers.append(keras.layers.Dense(outputs, kernel_initializer=output_init))
    return keras.Sequential(layers, name=name)
