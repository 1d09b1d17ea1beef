"""Probes: a linear or MLP classifier trained on a frozen representation (arrays of it), on any Keras
backend. Its held-out error in %, its held-out cross-entropy and the Barber–Agakov lower bound of the
mutual information it gives for free (Barber and Agakov 2003):

    I(z; y) = H(y) − H(y | z) ≥ H(y) − E[−log q(y | z)]

for any classifier q, H(y) being the held-out labels' empirical entropy (log K for K balanced classes).
:func:`probe_error` is the error alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from infodropout.estimation_tools import Estimate, as_matrix, log_sum_exp, mlp, standardise


@dataclass(frozen=True)
class ProbeResult:
    """A probe's held-out measures: ``error`` (%), ``cross_entropy`` (nats), ``barber_agakov`` (the lower
    bound H(y) − cross-entropy of I(z; y), nats, H the held-out labels' empirical entropy), ``label_entropy``
    (that H, nats) and ``train_error`` (% on its own training rows)."""

    error: Estimate
    cross_entropy: Estimate
    barber_agakov: Estimate
    label_entropy: float
    train_error: float


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    return logits - log_sum_exp(logits, axis=1)[:, None]


def barber_agakov(log_probabilities: np.ndarray, labels: np.ndarray) -> tuple[Estimate, Estimate, float]:
    """The Barber–Agakov bound I(z; y) ≥ H(y) − E[−log q(y | z)] from a classifier's log-probabilities
    q(· | z_i) of held-out rows and their labels: the bound, the cross-entropy (both with the standard
    error of their per-row terms) and H(y), the empirical entropy of ``labels`` (log K for K balanced classes).

    The per-row term log q(y_i | z_i) − log p̂(y_i), p̂ the labels' frequencies, averages to exactly
    H(p̂) − cross-entropy."""
    labels = np.asarray(labels).reshape(-1).astype("int64")
    log_q = np.asarray(log_probabilities, dtype=np.float64)[np.arange(len(labels)), labels]
    counts = np.bincount(labels)
    log_p = np.log(counts[labels] / len(labels))
    frequencies = counts[counts > 0] / len(labels)
    entropy = float(-np.sum(frequencies * np.log(frequencies)))

    def mean(terms):
        error = float(np.std(terms, ddof=1) / math.sqrt(len(terms))) if len(terms) > 1 else float("nan")
        return Estimate(float(np.mean(terms)), error)

    return mean(log_q - log_p), mean(-log_q), entropy


def probe(
    z,
    labels,
    kind: str = "linear",
    hidden: tuple[int, ...] = (256,),
    batch_size: int = 128,
    epochs: int = 20,
    learning_rate: float = 1e-2,
    held_out: float = 0.3,
    seed: int = 0,
    verbose: int = 0,
) -> ProbeResult:
    """Train a probe on a frozen representation; its held-out error (%), cross-entropy and Barber–Agakov
    lower bound of I(z; y) (nats), and its training error.

    Args:
        z: the representation, one row per example (further axes are flattened), as arrays: nothing
            flows back into the network that made them.
        labels: integer classes, one per row.
        kind: ``"linear"`` (softmax regression) or ``"mlp"`` (``hidden`` ReLU layers, then softmax).
        batch_size, epochs, learning_rate, held_out, seed: Adam's training on the ``1 − held_out``
            share of the rows, standardised with that part's statistics.
    """
    if kind not in ("linear", "mlp"):
        raise ValueError(f"kind must be 'linear' or 'mlp', got {kind!r}.")
    z = as_matrix(z, "z")
    labels = np.asarray(labels).reshape(-1).astype("int64")
    if len(labels) != len(z):
        raise ValueError(f"z and labels must have one row per example: got {len(z)} and {len(labels)}.")
    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(z))
    n_eval = int(round(len(z) * held_out))
    if not 0 < n_eval < len(z):
        raise ValueError(f"held_out={held_out} leaves no training or no held-out rows of {len(z)}.")
    test, train = order[:n_eval], order[n_eval:]
    z_train, z_test = standardise(z[train], z[test])
    classes = int(labels.max()) + 1
    # The linear probe starts at 0 (its problem is convex: the start only costs steps); Adam at 1e-2, as a
    # random start at 1e-3 was still near chance after 100 steps on a separable code.
    model = mlp(tuple(hidden) if kind == "mlp" else (), classes, seed, f"{kind}_probe", zero_output=kind == "linear")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(z_train, labels[train], batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)

    def logits_of(values: np.ndarray) -> np.ndarray:
        return np.concatenate([ops.convert_to_numpy(model(values[start:start + 1024], training=False))
                               for start in range(0, len(values), 1024)])

    logits = logits_of(z_test)
    error = float(np.mean(np.argmax(logits, axis=1) != labels[test]))
    train_error = float(np.mean(np.argmax(logits_of(z_train), axis=1) != labels[train]))
    bound, cross_entropy, entropy = barber_agakov(_log_softmax(logits), labels[test])
    return ProbeResult(error=Estimate(100.0 * error, 100.0 * math.sqrt(error * (1.0 - error) / n_eval), valid=True),
                       cross_entropy=cross_entropy, barber_agakov=bound, label_entropy=entropy,
                       train_error=100.0 * train_error)


def probe_error(z, labels, kind: str = "linear", **settings) -> Estimate:
    """A probe's held-out error in %, with its binomial standard error (see :func:`probe`)."""
    return probe(z, labels, kind=kind, **settings).error
