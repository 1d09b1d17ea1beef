"""Independent measurements of information: neural lower bounds of mutual information, the neural
dependency measure (NDM) and probes, on any Keras backend.

These test the paper's claims with tools that share none of its assumptions (no Gaussian approximation,
no KL bound). Every estimator trains a small network on one part of the samples and evaluates it on the
other (``held_out``), so that a critic which memorised its training pairs cannot inflate the estimate.

- :func:`mutual_information`: a lower bound of I(a; b) in nats from a critic T(a, b) = g(a)·h(b) (two
  MLPs, a separable critic: one pass gives the scores of every pair, the diagonal being the joint pairs and
  the rest pairs drawn from the product of the marginals):

  * ``"mine"`` (Belghazi et al. 2018): the Donsker–Varadhan bound I ≥ E_p[T] − log E_q[e^T]. The gradient
    of log E_q[e^T] is E_q[∇T e^T] / E_q[e^T]; the denominator estimated on one batch biases it, so, as
    MINE does, it is replaced by a moving average of the batches' E_q[e^T]. Everything is computed in log
    space: the average is kept as its logarithm and includes the current batch, so that the weight
    E_batch[e^T] / average, the only exponential taken, is at most 1 / ``moving_average_rate``.
  * ``"nwj"`` (Nguyen, Wainwright and Jordan 2010; f-GAN's KL bound): I ≥ E_p[T] − E_q[e^(T − 1)],
    unbiased on a batch, with more variance.
  * ``"infonce"`` (van den Oord et al. 2018): I ≥ E[T(a_i, b_i) − log (1/K) Σ_j e^T(a_i, b_j)], of low
    variance but at most log K for K pairs. It is evaluated with all the held-out pairs at once (K up to
    :data:`MAX_EVALUATION_PAIRS`), so its ceiling is log K of the held-out part, not of a training batch;
    the ceiling is returned with the estimate, which is flagged ``at_ceiling`` when it reaches it.

- :func:`neural_dependency`: NDM (Hjelm et al. 2019, Deep InfoMax): a discriminator trained to tell
  samples of z from z with every unit shuffled across examples independently (a sample of the product of
  its marginals); its logit, at the optimum log p(z)/Π p(z_i), enters the Donsker–Varadhan bound of
  KL(p(z) ‖ Π p(z_i)), the total correlation of z, estimated on held-out samples. 0 for independent units.

- probes (in :mod:`infodropout.probing`): a linear or MLP classifier trained on
  a frozen representation, its held-out error, cross-entropy and the Barber–Agakov bound it gives for free.

Each returns an :class:`~infodropout.estimation_tools.Estimate`, a float that also carries ``stderr``, its
standard error (a block jackknife over the held-out rows), and whether it is ``valid``: finite, converged (the
critic is picked by its bound on a validation part, checked at :data:`~infodropout.critic_training.CHECKPOINTS`
points, and that best value rose by less than the estimate's standard error over the last quarter of the steps),
not at a known ceiling; where not, ``reason`` says why. :meth:`~infodropout.estimation_tools.Estimate.fields`
turns one into JSON-safe keys (a failed estimate is ``None``, never NaN).

Robustness. The critics' inputs are standardised column by column with the training part's median and
median absolute deviation, then clipped to ±``clip`` of those standard deviations, so that a few outlying
samples cannot dominate log E_q[e^T]. Clipping is a fixed function of each side, so I(clip(a); clip(b)) ≤
I(a; b): the bounds stay lower bounds of the unclipped information. The critic trains for at least
``min_steps`` steps, iterating epochs over the pairs as often as that takes.

The shared pieces live apart: the :class:`~infodropout.estimation_tools.Estimate` type and the numerical
helpers in :mod:`infodropout.estimation_tools`, the split of the rows, the critics' training with early
stopping and the convergence check in :mod:`infodropout.critic_training`.

Every estimator seeds Python, NumPy and the backend with its ``seed`` (``keras.utils.set_random_seed``),
so that the same call gives the same number.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from infodropout.critic_training import MIN_STEPS, TrainingSettings, split_rows, train_critic, with_convergence
from infodropout.estimation_tools import CLIP, Estimate, as_matrix, jackknife, log_sum_exp, mlp, robust_standardise

METHODS = ("mine", "nwj", "infonce")

# The held-out pairs are scored all against all in groups of at most this many rows (a 4,096² matrix of
# float64 is 134 MB); InfoNCE's ceiling is log of the group size.
MAX_EVALUATION_PAIRS = 4096


def _log_mean_exp_off_diagonal(scores):
    """log of the mean of e^T over the off-diagonal pairs (the product of the marginals), stably."""
    n = ops.shape(scores)[0]
    off = ops.cast(1.0 - ops.eye(n), "bool")
    shifted = ops.where(off, scores, -1e30 * ops.ones_like(scores))
    count = ops.cast(n, scores.dtype)
    return ops.logsumexp(ops.reshape(shifted, (-1,))) - ops.log(count * (count - 1.0))


def _batch_bound(method: str, scores):
    """The lower bound of ``method`` on one training batch's score matrix (diagonal: joint pairs)."""
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
        self.g = mlp(hidden, embedding, seed, "g")
        self.h = mlp(hidden, embedding, seed + 100, "h")
        # MINE's moving average of E_q[e^T], kept as its logarithm (e^T overflows float32 long before its
        # log does), and the number of batches it has seen. Updated in compute_loss, which every backend's
        # trainer lets assign non-trainable state (JAX's included).
        self.log_moving_average = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                  name="log_moving_average")
        self.batches_seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="batches_seen")

    def embed(self, a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """g(a) and h(b) as float64 arrays."""
        def run(net, values):
            return np.concatenate([ops.convert_to_numpy(net(values[i:i + chunk], training=False))
                                   for i in range(0, len(values), chunk)]).astype(np.float64)
        return run(self.g, a), run(self.h, b)

    def call(self, inputs, training=False):
        return ops.matmul(self.g(inputs[:, :self.a_dim]), ops.transpose(self.h(inputs[:, self.a_dim:])))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self.method != "mine":
            return -_batch_bound(self.method, y_pred)
        # MINE's surrogate, in log space: with L = log E_batch[e^T] and A the moving average of E_q[e^T]
        # (this batch included), w = e^(L − log A) is a constant and −(E_p[T] − w·L) has the gradient
        # −∇E_p[T] + E_batch[∇T e^T] / A. A includes this batch with weight ≥ rate, so w ≤ 1 / rate: no
        # overflow however far T moves. The first batches are averaged equally (weight 1 / batches seen)
        # until that falls below the rate, so that the starting value of A carries no weight.
        joint = ops.mean(ops.diagonal(y_pred))
        batch = _log_mean_exp_off_diagonal(y_pred)
        fixed = ops.stop_gradient(batch)
        seen = self.batches_seen + 1.0
        weight_new = ops.maximum(ops.convert_to_tensor(self.rate, dtype=fixed.dtype), 1.0 / seen)
        kept = ops.log(ops.maximum(1.0 - weight_new, 1e-30)) + self.log_moving_average
        log_average = ops.where(seen <= 1.0, fixed, ops.logaddexp(kept, ops.log(weight_new) + fixed))
        if training:
            self.log_moving_average.assign(log_average)
            self.batches_seen.assign(seen)
        weight = ops.exp(ops.minimum(fixed - log_average, -math.log(self.rate)))
        return -(joint - weight * batch)


def _held_out_bound(method: str, scores: np.ndarray) -> float:
    """The bound of ``method`` on a square score matrix of held-out pairs, all against all (float64)."""
    n = len(scores)
    joint = float(np.mean(np.diag(scores)))
    if method == "infonce":
        return float(np.mean(np.diag(scores) - log_sum_exp(scores, axis=1))) + math.log(n)
    off = scores[~np.eye(n, dtype=bool)]
    log_mean = float(log_sum_exp(off)) - math.log(n * (n - 1))
    return joint - log_mean if method == "mine" else joint - math.exp(log_mean - 1.0)


def _groups(n: int) -> list[np.ndarray]:
    return np.array_split(np.arange(n), math.ceil(n / MAX_EVALUATION_PAIRS))


def _evaluate_pairs(method: str, g: np.ndarray, h: np.ndarray, stderr: bool = True) -> tuple[float, float, float]:
    """The held-out bound (mean over groups of at most MAX_EVALUATION_PAIRS rows), its standard error and
    log K (InfoNCE's ceiling; the mean of log of the groups' sizes)."""
    values, errors, logs = [], [], []
    for rows in _groups(len(g)):
        scores = g[rows] @ h[rows].T
        if not np.all(np.isfinite(scores)):
            return float("nan"), float("nan"), float("nan")
        if stderr:
            value, error = jackknife(lambda idx: _held_out_bound(method, scores[np.ix_(idx, idx)]), len(rows))
        else:
            value, error = _held_out_bound(method, scores), float("nan")
        values.append(value)
        errors.append(error)
        logs.append(math.log(len(rows)))
    return (float(np.mean(values)), math.sqrt(float(np.sum(np.square(errors)))) / len(values),
            float(np.mean(logs)))


def mutual_information(
    a,
    b,
    method: str = "mine",
    hidden: tuple[int, ...] = (128, 128),
    embedding: int = 32,
    batch_size: int = 256,
    epochs: int = 20,
    min_steps: int = MIN_STEPS,
    learning_rate: float = 1e-3,
    held_out: float = 0.3,
    validation: float = 0.1,
    moving_average_rate: float = 0.01,
    clip: float = CLIP,
    seed: int = 0,
    verbose: int = 0,
) -> Estimate:
    """A lower bound of the mutual information I(a; b), in nats, from paired samples.

    Args:
        a, b: arrays with one row per sample (further axes are flattened); rows i of both are a pair.
        method: ``"mine"`` (Donsker–Varadhan with MINE's moving-average gradient correction), ``"nwj"``
            or ``"infonce"`` (at most log K for K held-out pairs: it saturates there).
        hidden, embedding: the widths of the hidden layers of the critic's two MLPs g and h, and of
            their output; T(a, b) = g(a)·h(b).
        batch_size: pairs per training batch (its marginal pairs are its n·(n − 1) mismatched ones).
        epochs, min_steps, learning_rate: Adam's training of the critic on the ``1 − held_out`` share of
            the pairs, for ``epochs`` epochs or as many more as ``min_steps`` steps take.
        held_out: the share of the pairs the bound is evaluated on, all against all (in groups of at most
            :data:`MAX_EVALUATION_PAIRS`).
        validation: the share of the pairs that picks the critic: its bound, computed likewise at
            :data:`~infodropout.critic_training.CHECKPOINTS` points during training, chooses the weights kept
            (early stopping).
        moving_average_rate: MINE's rate r, avg ← (1 − r)·avg + r·E_batch[e^T].
        clip: both sides are robustly standardised with the training part's statistics and clipped to
            ±``clip`` (see :func:`robust_standardise`).
        seed: seeds the split, the critic's weights and the batches' order.

    Returns:
        an :class:`Estimate` on the held-out pairs with its block-jackknife standard error, its validity
        (finite, converged, below its ceiling) and the validation values during training (``history``);
        for InfoNCE its ceiling log K. A bound can come out slightly negative where a and b are
        independent. A critic whose training diverged gives :meth:`Estimate.failed`.

    Example::

        rng = np.random.default_rng(0)
        a = rng.normal(size=(10_000, 2))
        b = 0.9 * a + np.sqrt(1 - 0.81) * rng.normal(size=(10_000, 2))   # I = −log(1 − 0.81) ≈ 1.66 nats
        estimate = mutual_information(a, b, method="mine")
        print(float(estimate), estimate.stderr, estimate.valid)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if not 0 < moving_average_rate < 1:
        raise ValueError(f"moving_average_rate must be in (0, 1), got {moving_average_rate}.")
    a, b = as_matrix(a, "a"), as_matrix(b, "b")
    if len(a) != len(b):
        raise ValueError(f"a and b must have one row per pair: got {len(a)} and {len(b)} rows.")
    settings = TrainingSettings(batch_size=batch_size, epochs=epochs, min_steps=min_steps, learning_rate=learning_rate,
                                held_out=held_out, validation=validation, seed=seed, verbose=verbose)
    keras.utils.set_random_seed(seed)
    train, validation_rows, test = split_rows(len(a), settings)
    a_train, a_validation, a_test = robust_standardise(a[train], a[validation_rows], a[test], clip=clip)
    b_train, b_validation, b_test = robust_standardise(b[train], b[validation_rows], b[test], clip=clip)
    critic = _SeparableCritic(a.shape[1], method, tuple(hidden), embedding, seed, moving_average_rate)

    def validation_value() -> float:
        return _evaluate_pairs(method, *critic.embed(a_validation, b_validation), stderr=False)[0]

    training = train_critic(critic, np.concatenate([a_train, b_train], axis=1), validation_value, settings)
    if not training.finite:
        return Estimate.failed("the critic's training diverged (its loss or every validation value was not finite)")
    value, stderr, log_k = _evaluate_pairs(method, *critic.embed(a_test, b_test))
    estimate = Estimate(value, stderr, ceiling=log_k if method == "infonce" else None, history=training.history)
    return with_convergence(estimate)


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
        self.net = mlp(hidden, 1, seed, "discriminator")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        shuffled = _shuffle_units(inputs, self.seed_generator)
        return ops.concatenate([self.net(inputs), self.net(shuffled)], axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # −log σ(T(z)) − log(1 − σ(T(z̃))) = softplus(−T(z)) + softplus(T(z̃))
        return ops.mean(ops.softplus(-y_pred[:, 0]) + ops.softplus(y_pred[:, 1]))

    def logits(self, z: np.ndarray, chunk: int = 1024) -> np.ndarray:
        return np.concatenate([ops.convert_to_numpy(self.net(z[i:i + chunk], training=False))[:, 0]
                               for i in range(0, len(z), chunk)]).astype(np.float64)


def _donsker_varadhan(joint: np.ndarray, product: np.ndarray, rows: np.ndarray) -> float:
    return float(np.mean(joint[rows]) - (log_sum_exp(product[rows]) - math.log(len(rows))))


def neural_dependency(
    z,
    hidden: tuple[int, ...] = (128, 128),
    batch_size: int = 256,
    epochs: int = 20,
    min_steps: int = MIN_STEPS,
    learning_rate: float = 1e-3,
    held_out: float = 0.3,
    validation: float = 0.1,
    clip: float = CLIP,
    seed: int = 0,
    verbose: int = 0,
) -> Estimate:
    """NDM: the Donsker–Varadhan estimate of KL(p(z) ‖ Π_i p(z_i)) (the total correlation of z), in nats,
    from a discriminator between z and z shuffled unit by unit across examples.

    The discriminator is trained on the ``1 − held_out`` share of the rows (a fresh shuffle every
    batch); the bound E_p[T] − log E_q[e^T] is evaluated on the held-out rows against one fixed shuffle of
    each held-out unit over all the held-out rows. Near 0 for independent units, larger the more the units
    depend on each other; like every neural bound it falls short of the truth where the dependence is strong.

    Args:
        z: samples, one row per example (further axes are flattened into units).
        hidden, batch_size, epochs, min_steps, learning_rate, held_out, validation, clip, seed: as in
            :func:`mutual_information`.

    Returns:
        an :class:`Estimate` with its block-jackknife standard error over the held-out rows, its validity
        and history.
    """
    z = as_matrix(z, "z")
    if z.shape[1] < 2:
        raise ValueError("neural_dependency needs at least 2 units.")
    settings = TrainingSettings(batch_size=batch_size, epochs=epochs, min_steps=min_steps, learning_rate=learning_rate,
                                held_out=held_out, validation=validation, seed=seed, verbose=verbose)
    keras.utils.set_random_seed(seed)
    train, validation_rows, test = split_rows(len(z), settings)
    z_train, z_validation, z_test = robust_standardise(z[train], z[validation_rows], z[test], clip=clip)
    rng = np.random.default_rng(seed + 1)

    def shuffle(values: np.ndarray) -> np.ndarray:
        return np.stack([column[rng.permutation(len(column))] for column in values.T], axis=1)

    validation_shuffled, test_shuffled = shuffle(z_validation), shuffle(z_test)
    discriminator = _Discriminator(tuple(hidden), seed)

    def validation_value() -> float:
        joint, product = discriminator.logits(z_validation), discriminator.logits(validation_shuffled)
        return _donsker_varadhan(joint, product, np.arange(len(joint)))

    training = train_critic(discriminator, z_train, validation_value, settings)
    if not training.finite:
        return Estimate.failed("the discriminator's training diverged (its loss or every validation value was "
                               "not finite)")
    joint, product = discriminator.logits(z_test), discriminator.logits(test_shuffled)
    value, stderr = jackknife(lambda rows: _donsker_varadhan(joint, product, rows), len(joint))
    return with_convergence(Estimate(value, stderr, history=training.history))
