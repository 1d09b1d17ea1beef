"""The estimators on data whose answers are known exactly: correlated Gaussians for the mutual-information
bounds (I = −½ d log(1 − ρ²)), equicorrelated Gaussians for NDM, heavy tails and outliers that must not
overflow, independent labels and a separable code for the probes, a constructed classifier for the
Barber–Agakov bound, and the validity flags.

Sizes: 4,000 samples (2,400 to train, 400 to pick the critic, 1,200 held out), small critics and the
estimators' minimum of steps; every call is seeded, so each number below is the same on every run on the
same machine. The calls that take longest are marked slow.
"""

import json
import math

import numpy as np
import pytest

from infodropout.critic_training import convergence
from infodropout.estimation_tools import Estimate, robust_standardise
from infodropout.estimators import METHODS, mutual_information, neural_dependency
from infodropout.probing import barber_agakov, probe, probe_error

N = 4000
SMALL = dict(hidden=(32, 32), embedding=16, min_steps=200, epochs=1)


def correlated_pairs(dimensions: int, rho: float, seed: int = 0, n: int = N):
    """(a, b) with b_i = ρ a_i + √(1 − ρ²) n_i, componentwise: I(a; b) = −½ d log(1 − ρ²) exactly."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, dimensions))
    b = rho * a + np.sqrt(1 - rho ** 2) * rng.normal(size=(n, dimensions))
    return a, b, -0.5 * dimensions * np.log(1 - rho ** 2)


# How far below the truth each bound may fall here, in nats: 0.1 plus this share of the truth. The bounds are
# loosest where the information is largest (Donsker–Varadhan's e^T term has the most variance there).
SHORTFALL = {"mine": 0.5, "nwj": 0.6, "infonce": 0.35}


@pytest.mark.parametrize("method", ["mine", "infonce"])
@pytest.mark.parametrize("dimensions, rho", [(2, 0.8)])  # 1.02 nats
def test_bounds_lie_below_the_exact_information_and_near_it(method, dimensions, rho):
    a, b, exact = correlated_pairs(dimensions, rho)
    estimate = mutual_information(a, b, method=method, seed=1, **SMALL)
    assert isinstance(estimate, Estimate) and np.isfinite(estimate.stderr) and estimate.stderr > 0
    assert float(estimate) <= exact + 2 * estimate.stderr, f"{estimate!r} above the exact {exact:.3f}"
    assert float(estimate) >= exact - (0.1 + SHORTFALL[method] * exact), f"{estimate!r} far below {exact:.3f}"
    assert estimate.valid, estimate.reason


def _every_case():
    """(dimensions, ρ, method) of every bound on every case. CI leaves out MINE and InfoNCE at 0 and 1.02 nats (the
    fast tests above check them on these cases with fewer steps: independent variables, and 2 dimensions at 0.8)."""
    for dimensions, rho in [(1, 0.0), (2, 0.8), (10, 0.75)]:  # 0, 1.02 and 4.13 nats
        for method in METHODS:
            covered = method in ("mine", "infonce") and dimensions < 10
            yield pytest.param(dimensions, rho, method, marks=[pytest.mark.slow_extra] if covered else [],
                               id=f"{dimensions}-{rho}-{method}")


@pytest.mark.slow
@pytest.mark.parametrize("dimensions, rho, method", list(_every_case()))
def test_every_bound_on_every_case(method, dimensions, rho):
    a, b, exact = correlated_pairs(dimensions, rho)
    estimate = mutual_information(a, b, method=method, seed=1)
    assert float(estimate) <= exact + 2 * estimate.stderr, f"{estimate!r} above the exact {exact:.3f}"
    assert float(estimate) >= exact - (0.1 + SHORTFALL[method] * exact), f"{estimate!r} far below {exact:.3f}"


@pytest.mark.parametrize("method", ["mine", "infonce"])
def test_independent_variables_give_a_bound_near_zero(method):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(N, 3)), rng.normal(size=(N, 3))
    estimate = mutual_information(a, b, method=method, seed=0, **SMALL)
    assert abs(float(estimate)) <= 0.03, estimate  # the exact value is 0


def heavy_tailed_pairs(seed: int = 0):
    """Student-t with 1 degree of freedom (Cauchy) on both sides, b = a + noise, and 5 rows at ±1e4: the
    pairs share information, and a few samples sit tens of thousands of scales out."""
    rng = np.random.default_rng(seed)
    a = rng.standard_t(1, size=(N, 4))
    b = a + rng.standard_t(1, size=(N, 4))
    a[:5], b[5:10] = 1e4, -1e4
    return a, b


@pytest.mark.parametrize("method", ["mine", "infonce"])
def test_heavy_tails_and_outliers_give_a_finite_positive_bound(method):
    a, b = heavy_tailed_pairs()
    estimate = mutual_information(a, b, method=method, seed=0, **SMALL)
    assert math.isfinite(estimate) and math.isfinite(estimate.stderr), estimate
    # a and b depend strongly (b = a + equal-scale noise, 4 dimensions): a bound well above 0, not a
    # large negative number from a few samples dominating log E[e^T].
    assert float(estimate) > 0.3, estimate
    json.dumps(estimate.fields("x"), allow_nan=False)  # a results row without NaN


def test_robust_standardisation_clips_outliers_and_keeps_a_gaussian_unchanged():
    rng = np.random.default_rng(0)
    train = rng.normal(loc=3.0, scale=2.0, size=(20_000, 2))
    train[:10] = 1e6
    (scaled,) = robust_standardise(train, clip=5.0)
    assert np.abs(scaled).max() == pytest.approx(5.0)
    assert np.allclose(scaled[10:].std(axis=0), 1.0, atol=0.02) and np.allclose(np.median(scaled, axis=0), 0, atol=0.02)
    one_hot = np.eye(10)[rng.integers(0, 10, size=1000)]  # a median absolute deviation of 0: the std instead
    (scaled,) = robust_standardise(one_hot)
    assert np.all(scaled[one_hot == 0] == 0) and np.all(scaled[one_hot == 1] > 2)  # 1 / 0.3 = 3.3: not clipped


def test_mine_surrogate_does_not_overflow_on_huge_scores():
    """MINE's gradient weight e^(log E_batch[e^T] − log A) is taken in log space with A including the batch:
    scores of 10^4 (e^T overflows float32 at 89) give a finite loss and finite gradients' weight."""
    from keras import ops

    from infodropout.estimators import _SeparableCritic

    critic = _SeparableCritic(1, "mine", (4,), 2, 0, 0.01)
    for scale in (1.0, 1e4, -1e4, 1e4):
        scores = ops.convert_to_tensor(scale * np.random.default_rng(0).normal(size=(16, 16)).astype("float32"))
        loss = float(ops.convert_to_numpy(critic.compute_loss(y_pred=scores, training=True)))
        assert math.isfinite(loss), (scale, loss)
        assert math.isfinite(float(ops.convert_to_numpy(critic.log_moving_average)))


def test_mine_moving_average_is_carried_through_training():
    """The moving average is state assigned in compute_loss: every backend's trainer must carry it."""
    import keras

    from infodropout.estimators import _SeparableCritic

    critic = _SeparableCritic(2, "mine", (8,), 4, 0, 0.01)
    critic.compile(optimizer=keras.optimizers.Adam(1e-3))
    critic.fit(np.random.default_rng(0).normal(size=(160, 4)).astype("float32"), batch_size=16, epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(critic.batches_seen)) == 10
    log_average = float(keras.ops.convert_to_numpy(critic.log_moving_average))
    assert math.isfinite(log_average) and log_average != 0.0


def test_infonce_reports_its_ceiling_and_is_flagged_there():
    a, b, exact = correlated_pairs(10, 0.99, n=600)  # 19.6 nats, far beyond log K = log 180 = 5.19
    estimate = mutual_information(a, b, method="infonce", batch_size=64, seed=0, **{**SMALL, "min_steps": 600})
    assert estimate.ceiling == pytest.approx(math.log(180))
    assert float(estimate) <= estimate.ceiling + 1e-9
    assert estimate.at_ceiling and not estimate.valid and "ceiling" in estimate.reason
    fields = estimate.fields("N.infonce_task")
    assert fields["N.infonce_task_at_ceiling"] is True and fields["N.infonce_task_valid"] is False


def test_estimates_are_repeatable_with_a_seed():
    a, b, _ = correlated_pairs(2, 0.8, n=1000)
    settings = dict(SMALL, min_steps=40, seed=3)
    assert float(mutual_information(a, b, **settings)) == float(mutual_information(a, b, **settings))


def test_failed_estimates_are_null_and_invalid_in_a_results_row():
    fields = Estimate.failed("the critic's training diverged").fields("N.mi_task")
    assert fields == {"N.mi_task": None, "N.mi_task_stderr": None, "N.mi_task_valid": False,
                      "N.mi_task_reason": "the critic's training diverged"}
    nan = Estimate(float("nan"), 0.1)
    assert not nan.valid and nan.reason == "not finite" and nan.fields("k")["k"] is None
    fine = Estimate(1.0, 0.1).fields("k")
    assert fine == {"k": 1.0, "k_stderr": 0.1, "k_valid": True, "k_reason": None}
    json.dumps([fields, nan.fields("k"), fine], allow_nan=False)


def test_convergence_reads_the_last_quarter_of_the_steps():
    steps = range(10, 210, 10)
    rising = [(s, s / 100) for s in steps]  # still climbing by 0.5 nats over the last quarter
    assert "not converged" in convergence(rising, 0.05)
    flat = [(s, 1.0 + 0.01 * (-1) ** s) for s in steps]
    assert convergence(flat, 0.05) is None
    overfitting = [(s, 2.0 - abs(s - 60) / 100) for s in steps]  # peaked early, then fell: the kept best is early
    assert convergence(overfitting, 0.05) is None
    assert convergence([(10, 1.0)], 0.05) is not None


def equicorrelated(dimensions: int, rho: float, seed: int = 0):
    """Gaussian samples with unit variances and every correlation ρ; their exact total correlation
    −½ log det R = −½ [(d − 1) log(1 − ρ) + log(1 + (d − 1) ρ)]."""
    covariance = (1 - rho) * np.eye(dimensions) + rho
    z = np.random.default_rng(seed).multivariate_normal(np.zeros(dimensions), covariance, size=N)
    return z, -0.5 * np.linalg.slogdet(covariance)[1]


@pytest.mark.slow
def test_ndm_is_near_zero_for_independent_units_and_rises_with_the_correlation():
    values, exact = [], []
    for rho in (0.0, 0.3, 0.6, 0.9):
        z, tc = equicorrelated(5, rho)
        values.append(neural_dependency(z, hidden=(64, 64), min_steps=300))
        exact.append(tc)
    assert abs(values[0]) < 0.05  # independent units (exact 0)
    assert all(later > earlier for earlier, later in zip(values, values[1:])), values  # the order of the exact TC
    for value, tc in zip(values, exact):  # a lower bound: never above the exact TC by more than its error
        assert float(value) <= tc + max(2 * value.stderr, 0.02), (value, tc)
    assert float(values[-1]) > 0.5 * exact[-1]


def test_barber_agakov_is_log_k_minus_the_cross_entropy_on_a_constructed_classifier():
    labels = np.repeat(np.arange(4), 25)  # 4 balanced classes: H(y) = log 4
    probabilities = np.full((100, 4), 0.1)
    probabilities[np.arange(100), labels] = 0.7  # the true class at 0.7: cross-entropy −log 0.7 on every row
    bound, cross_entropy, entropy = barber_agakov(np.log(probabilities), labels)
    assert entropy == pytest.approx(math.log(4))
    assert float(cross_entropy) == pytest.approx(-math.log(0.7))
    assert float(bound) == pytest.approx(math.log(4) + math.log(0.7))
    assert bound.stderr == pytest.approx(0.0, abs=1e-12)  # every row contributes the same term
    skewed = np.array([0] * 75 + [1] * 25)  # unbalanced: H = the labels' empirical entropy, not log 2
    bound, cross_entropy, entropy = barber_agakov(np.log(np.full((100, 2), 0.5)), skewed)
    assert entropy == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert float(bound) == pytest.approx(entropy - math.log(2))  # an uninformed classifier: a bound below 0


def test_probes_are_at_chance_on_independent_labels():
    rng = np.random.default_rng(0)
    z, labels = rng.normal(size=(N, 32)), rng.integers(0, 10, size=N)
    for kind in ("linear", "mlp"):
        measured = probe(z, labels, kind=kind, epochs=5)
        assert abs(float(measured.error) - 90.0) < 4.0, (kind, measured)  # chance is 90 %; stderr ≈ 0.9 points
        assert float(measured.barber_agakov) < 0.02, measured  # I(z; y) = 0: no positive bound


def test_probes_read_a_linearly_separable_code_without_error():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=N)
    centres = 3.0 * np.eye(4, 16)
    z = centres[labels] + 0.3 * rng.normal(size=(N, 16))  # classes 3 apart, noise 0.3: separable by a margin
    for kind in ("linear", "mlp"):
        measured = probe(z, labels, kind=kind, epochs=5)
        assert float(measured.error) < 0.5 and measured.train_error < 0.5, (kind, measured)
        # I(z; y) = H(y) ≈ log 4 here: the bound approaches it from below as the cross-entropy goes to 0.
        assert measured.label_entropy - 0.2 < float(measured.barber_agakov) <= measured.label_entropy, measured
        assert float(measured.barber_agakov) == pytest.approx(measured.label_entropy - measured.cross_entropy)
        assert float(probe_error(z, labels, kind=kind, epochs=5)) == float(measured.error)


def test_bad_arguments_are_refused_with_the_value():
    a = np.zeros((100, 2))
    with pytest.raises(ValueError, match="'mi'"):
        mutual_information(a, a, method="mi")
    with pytest.raises(ValueError, match="one row per pair"):
        mutual_information(a, a[:50])
    with pytest.raises(ValueError, match="'deep'"):
        probe_error(a, np.zeros(100), kind="deep")
    with pytest.raises(ValueError, match="clip"):
        robust_standardise(a, clip=0)
