"""Independent measurements of information: neural lower bounds of mutual information, the neural
dependency measure (NDM) and probes, on any Keras backend.

These test the paper's claims with tools that share none of its assumptions (no Gaussian approximation,
no KL bound). Every estimator trains a small network on one part of the samples and evaluates it on the
other (``held_out``), so that a critic which memorised its training pairs cannot inflate the estimate.

- :func:`mutual_information`: a lower bound of I(a; b) in nats from a critic T(a, b) = g(a)·h(b) (two
  MLPs, a separable critic: one pass gives the scores of every pair of a batch, the diagonal being the
  joint pairs and the rest pairs drawn from the product of the marginals):

  * ``"mine"`` (Belghazi et al. 2018): the Donsker–Varadhan bound I ≥ E_p[T] − log E_q[e^T]. The gradient
    of log E_q[e^T] is E_q[∇T e^T] / E_q[e^T]; the denominator estimated on one batch biases it, so, as
    MINE does, it is replaced by a moving average of the batches' E_q[e^T] (``moving_average_rate``).
  * ``"nwj"`` (Nguyen, Wainwright and Jordan 2010; f-GAN's KL bound): I ≥ E_p[T] − E_q[e^(T − 1)],
    unbiased on a batch, with more variance.
  * ``"infonce"`` (van den Oord et al. 2018): I ≥ E[T(a_i, b_i) − log (1/n) Σ_j e^T(a_i, b_j)], of low
    variance but at most log n for evaluation batches of n pairs: it saturates at log(batch_size), so it
    cannot measure more than that, whatever the truth.

- :func:`neural_dependency`: NDM (Hjelm et al. 2019, Deep InfoMax): a discriminator trained to tell
  samples of z from z with every unit shuffled across examples independently (a sample of the product of
  its marginals); its logit, at the optimum log p(z)/Π p(z_i), enters the Donsker–Varadhan bound of
  KL(p(z) ‖ Π p(z_i)), the total correlation of z, estimated on held-out samples. 0 for independent units.

- :func:`probe_error`: a linear or MLP classifier trained on a frozen representation (arrays of it);
  its held-out error in %.

Each returns an :class:`Estimate`, a float that also carries ``stderr``, the standard error over its
evaluation batches (for probes, the binomial standard error of the held-out error).

Every estimator seeds Python, NumPy and the backend with its ``seed`` (``keras.utils.set_random_seed``),
so that the same call gives the same number.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

METHODS = ("mine", "nwj", "infonce")


class Estimate(float):
    """A float (the estimate) with ``stderr``, its standard error over the evaluation batches."""

    stderr: float

    def __new__(cls, value: float, stderr: float):
        estimate = super().__new__(cls, value)
        estimate.stderr = float(stderr)
        return estimate

    def __repr__(self) -> str:
        return f"Estimate({float(self):.4f} ± {self.stderr:.4f})"


def _as_matrix(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 1:
        array = array[:, None]
    array = array.reshape(len(array), -1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (got NaN or infinite values).")
    return array


def _split(n: int, held_out: float, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled training and held-out indices; the training part a multiple of ``batch_size``."""
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be in (0, 1), got {held_out}.")
    order = np.random.default_rng(seed).permutation(n)
    n_eval = int(round(n * held_out))
    n_train = (n - n_eval) // batch_size * batch_size
    if n_train < batch_size or n_eval < 2:
        raise ValueError(f"{n} samples are too few for batches of {batch_size} with held_out={held_out}.")
    return order[n_eval:n_eval + n_train], order[:n_eval]


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre and scale each column by the training part's statistics (constant columns left at scale 1)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std < 1e-8] = 1.0
    return [(array - mean) / std for array in (train, *others)]


def _mlp(hidden: tuple[int, ...], outputs: int, seed: int, name: str, zero_output: bool = False) -> keras.Sequential:
    """ReLU layers of widths ``hidden``, then a linear layer (initialised at 0 with ``zero_output``)."""
    layers = [keras.layers.Dense(width, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed + i))
              for i, width in enumerate(hidden)]
    output_init = "zeros" if zero_output else keras.initializers.GlorotUniform(seed + len(hidden))
    layers.append(keras.layers.Dense(outputs, kernel_initializer=output_init))
    return keras.Sequential(layers, name=name)


def _off_diagonal(scores):
    n = ops.shape(scores)[0]
    return 1.0 - ops.eye(n, dtype=scores.dtype)


def _log_mean_exp_off_diagonal(scores):
    """log of the mean of e^T over the off-diagonal pairs (the product of the marginals), stably."""
    mask = _off_diagonal(scores)
    shifted = ops.where(mask > 0, scores, -1e30 * ops.ones_like(scores))
    n = ops.cast(ops.shape(scores)[0], scores.dtype)
    return ops.logsumexp(ops.reshape(shifted, (-1,))) - ops.log(n * (n - 1.0))


def _bound(method: str, scores):
    """The lower bound of ``method`` on one batch's score matrix (diagonal: joint pairs)."""
    joint = ops.mean(ops.diagonal(scores))
    if method == "mine":
        return joint - _log_mean_exp_off_diagonal(scores)
    if method == "nwj":
        return joint - ops.exp(_log_mean_exp_off_diagonal(scores) - 1.0)
    n = ops.cast(ops.shape(scores)[0], scores.dtype)
    return joint - ops.mean(ops.logsumexp(scores, axis=1)) + ops.log(n)


class _SeparableCritic(keras.Model):
    """T(a, b) = g(a)·h(b) over every pair of a batch of concatenated [a, b] rows, trained by ``fit``
    to maximise the bound of ``method`` (the loss is computed in :meth:`compute_loss`)."""

    def __init__(self, a_dim: int, method: str, hidden: tuple[int, ...], embedding: int, seed: int,
                 moving_average_rate: float):
        super().__init__(name=f"{method}_critic")
        self.a_dim, self.method, self.rate = a_dim, method, moving_average_rate
        self.g = _mlp(hidden, embedding, seed, "g")
        self.h = _mlp(hidden, embedding, seed + 100, "h")
        # MINE's moving average of E_q[e^T], kept as its logarithm (e^T overflows float32 long before
        # its log does). Updated in call(), as batch norm updates its statistics, so that it is carried
        # as state on every backend (JAX included).
        self.log_moving_average = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                  name="log_moving_average")

    def call(self, inputs, training=False):
        scores = ops.matmul(self.g(inputs[:, :self.a_dim]), ops.transpose(self.h(inputs[:, self.a_dim:])))
        if training and self.method == "mine":
            batch = ops.stop_gradient(_log_mean_exp_off_diagonal(scores))
            self.log_moving_average.assign(ops.logaddexp(math.log(1.0 - self.rate) + self.log_moving_average,
                                                         math.log(self.rate) + batch))
        return scores

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self.method != "mine":
            return -_bound(self.method, y_pred)
        # MINE's surrogate: its gradient is ∇E_p[T] − E_q[∇T e^T] / (moving average of E_q[e^T]).
        joint = ops.mean(ops.diagonal(y_pred))
        mask = _off_diagonal(y_pred)
        corrected = ops.sum(mask * ops.exp(y_pred - ops.stop_gradient(self.log_moving_average))) / ops.sum(mask)
        return -(joint - corrected)


def _batched(method: str, scores_of, arrays: tuple[np.ndarray, ...], batch_size: int) -> Estimate:
    """Mean and standard error over the full held-out batches (a remainder smaller than a batch is left
    out, so that InfoNCE's ceiling is log(batch_size) exactly) of ``method``'s bound on ``scores_of(batch)``."""
    count = len(arrays[0]) // batch_size
    if count == 0:
        raise ValueError(f"{len(arrays[0])} held-out samples are fewer than a batch of {batch_size}.")
    values = [float(ops.convert_to_numpy(_bound(method, scores_of(tuple(a[i * batch_size:(i + 1) * batch_size]
                                                                          for a in arrays)))))
              for i in range(count)]
    return _mean_and_error(values)


def _mean_and_error(values: list[float]) -> Estimate:
    stderr = float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    return Estimate(float(np.mean(values)), stderr)


def mutual_information(
    a,
    b,
    method: str = "mine",
    hidden: tuple[int, ...] = (128, 128),
    embedding: int = 32,
    batch_size: int = 256,
    epochs: int = 20,
    learning_rate: float = 1e-3,
    held_out: float = 0.3,
    moving_average_rate: float = 0.01,
    seed: int = 0,
    verbose: int = 0,
) -> Estimate:
    """A lower bound of the mutual information I(a; b), in nats, from paired samples.

    Args:
        a, b: arrays with one row per sample (further axes are flattened); rows i of both are a pair.
        method: ``"mine"`` (Donsker–Varadhan with MINE's moving-average gradient correction), ``"nwj"``
            or ``"infonce"`` (at most log(batch_size): it saturates there).
        hidden, embedding: the widths of the hidden layers of the critic's two MLPs g and h, and of
            their output; T(a, b) = g(a)·h(b).
        batch_size: pairs per batch, in training and in evaluation (the marginal pairs of a batch are
            its n·(n − 1) mismatched ones).
        epochs, learning_rate: Adam's training of the critic on the ``1 − held_out`` share of the pairs.
        held_out: the share of the pairs the bound is evaluated on (after standardising both sides
            with the training part's statistics).
        moving_average_rate: MINE's rate r, avg ← (1 − r)·avg + r·E_batch[e^T].
        seed: seeds the split, the critic's weights and the batches' order.

    Returns:
        an :class:`Estimate`: the mean of the bound over the full held-out batches, with its standard
        error.
        A bound can come out slightly negative where a and b are independent.

    Example::

        rng = np.random.default_rng(0)
        a = rng.normal(size=(10_000, 2))
        b = 0.9 * a + np.sqrt(1 - 0.81) * rng.normal(size=(10_000, 2))   # I = −log(1 − 0.81) ≈ 1.66 nats
        estimate = mutual_information(a, b, method="mine")
        print(float(estimate), estimate.stderr)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if not 0 < moving_average_rate < 1:
        raise ValueError(f"moving_average_rate must be in (0, 1), got {moving_average_rate}.")
    a, b = _as_matrix(a, "a"), _as_matrix(b, "b")
    if len(a) != len(b):
        raise ValueError(f"a and b must have one row per pair: got {len(a)} and {len(b)} rows.")
    keras.utils.set_random_seed(seed)
    train, test = _split(len(a), held_out, batch_size, seed)
    a_train, a_test = _standardise(a[train], a[test])
    b_train, b_test = _standardise(b[train], b[test])
    critic = _SeparableCritic(a.shape[1], method, tuple(hidden), embedding, seed, moving_average_rate)
    critic.compile(optimizer=keras.optimizers.Adam(learning_rate))
    critic.fit(np.concatenate([a_train, b_train], axis=1), batch_size=batch_size, epochs=epochs, shuffle=True,
               verbose=verbose)
    return _batched(method, lambda batch: critic(np.concatenate(batch, axis=1), training=False),
                    (a_test, b_test), batch_size)


def _shuffle_units(z, seed_generator):
    """z with every column moved across the rows by its own random cyclic shift, so that each row takes
    its units from different rows (a sample of Π p(z_i)); the batches' order is itself shuffled each epoch.
    Shifts rather than a sort per column: sorting a (batch, units) array each step cost 5 times more."""
    n = ops.shape(z)[0]
    shifts = ops.cast(keras.random.uniform((1, ops.shape(z)[1]), 1.0, ops.cast(n, "float32"), seed=seed_generator),
                      "int32")
    rows = ops.mod(ops.expand_dims(ops.arange(n, dtype="int32"), 1) + shifts, n)
    return ops.take_along_axis(z, rows, axis=0)


class _Discriminator(keras.Model):
    """The NDM discriminator: logits of "z is real" for a batch and for its unit-shuffled copy, trained
    with the logistic loss (balanced classes), so that the logit tends to log p(z)/Π p(z_i)."""

    def __init__(self, hidden: tuple[int, ...], seed: int):
        super().__init__(name="ndm_discriminator")
        self.net = _mlp(hidden, 1, seed, "discriminator")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        shuffled = _shuffle_units(inputs, self.seed_generator)
        return ops.concatenate([self.net(inputs), self.net(shuffled)], axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # −log σ(T(z)) − log(1 − σ(T(z̃))) = softplus(−T(z)) + softplus(T(z̃))
        return ops.mean(ops.softplus(-y_pred[:, 0]) + ops.softplus(y_pred[:, 1]))


def neural_dependency(
    z,
    hidden: tuple[int, ...] = (128, 128),
    batch_size: int = 256,
    epochs: int = 20,
    learning_rate: float = 1e-3,
    held_out: float = 0.3,
    seed: int = 0,
    verbose: int = 0,
) -> Estimate:
    """NDM: the Donsker–Varadhan estimate of KL(p(z) ‖ Π_i p(z_i)) (the total correlation of z), in nats,
    from a discriminator between z and z shuffled unit by unit across examples.

    The discriminator is trained on the ``1 − held_out`` share of the rows (a fresh shuffle every
    batch); the bound E_p[T] − log E_q[e^T] is evaluated on the held-out rows against shuffles made
    within each held-out batch. Near 0 for independent units, larger the more the units depend on
    each other; like every neural bound it falls short of the truth where the dependence is strong.

    Args:
        z: samples, one row per example (further axes are flattened into units).
        hidden, batch_size, epochs, learning_rate, held_out, seed: as in :func:`mutual_information`.

    Returns:
        an :class:`Estimate` with its standard error over the held-out batches.
    """
    z = _as_matrix(z, "z")
    if z.shape[1] < 2:
        raise ValueError("neural_dependency needs at least 2 units.")
    keras.utils.set_random_seed(seed)
    train, test = _split(len(z), held_out, batch_size, seed)
    z_train, z_test = _standardise(z[train], z[test])
    discriminator = _Discriminator(tuple(hidden), seed)
    discriminator.compile(optimizer=keras.optimizers.Adam(learning_rate))
    discriminator.fit(z_train, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    generator = keras.random.SeedGenerator(seed + 1)
    values = []
    for start in range(0, len(z_test) // batch_size * batch_size, batch_size):
        batch = z_test[start:start + batch_size]
        joint = ops.convert_to_numpy(discriminator.net(batch))[:, 0]
        product = ops.convert_to_numpy(discriminator.net(_shuffle_units(ops.convert_to_tensor(batch), generator)))[:, 0]
        top = product.max()
        values.append(float(joint.mean() - (top + np.log(np.mean(np.exp(product - top))))))
    if not values:
        raise ValueError(f"{len(z_test)} held-out samples are fewer than a batch of {batch_size}.")
    return _mean_and_error(values)


def probe_error(
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
) -> Estimate:
    """Train a probe on a frozen representation and return its held-out error, in %.

    Args:
        z: the representation, one row per example (further axes are flattened), as arrays: nothing
            flows back into the network that made them.
        labels: integer classes, one per row.
        kind: ``"linear"`` (softmax regression) or ``"mlp"`` (``hidden`` ReLU layers, then softmax).
        batch_size, epochs, learning_rate, held_out, seed: Adam's training on the ``1 − held_out``
            share of the rows, standardised with that part's statistics.

    Returns:
        an :class:`Estimate` of the error in % on the held-out rows, with its binomial standard error.
    """
    if kind not in ("linear", "mlp"):
        raise ValueError(f"kind must be 'linear' or 'mlp', got {kind!r}.")
    z = _as_matrix(z, "z")
    labels = np.asarray(labels).reshape(-1).astype("int64")
    if len(labels) != len(z):
        raise ValueError(f"z and labels must have one row per example: got {len(z)} and {len(labels)}.")
    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(z))
    n_eval = int(round(len(z) * held_out))
    if not 0 < n_eval < len(z):
        raise ValueError(f"held_out={held_out} leaves no training or no held-out rows of {len(z)}.")
    test, train = order[:n_eval], order[n_eval:]
    z_train, z_test = _standardise(z[train], z[test])
    classes = int(labels.max()) + 1
    # The linear probe starts at 0 (its problem is convex: the start only costs steps); Adam at 1e-2, as a
    # random start at 1e-3 was still near chance after 100 steps on a separable code.
    model = _mlp(tuple(hidden) if kind == "mlp" else (), classes, seed, f"{kind}_probe", zero_output=kind == "linear")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(z_train, labels[train], batch_size=batch_size, epochs=epochs, shuffle=True, verbose=verbose)
    logits = np.concatenate([ops.convert_to_numpy(model(z_test[start:start + 1024], training=False))
                             for start in range(0, len(z_test), 1024)])
    error = float(np.mean(np.argmax(logits, axis=1) != labels[test]))
    return Estimate(100.0 * error, 100.0 * math.sqrt(error * (1.0 - error) / n_eval))
