"""The KL formulas against closed forms and Monte-Carlo estimates between sampled distributions."""

import numpy as np
import pytest
from scipy import stats

from infodropout.kl import kl_gaussian, kl_log_normal, kl_log_uniform

RNG = np.random.default_rng(1234)
N_SAMPLES = 400_000


def test_log_uniform_kl_is_zero_at_the_largest_alpha_and_minus_log_alpha_below():
    max_alpha = 0.7
    alpha = np.array([max_alpha + 0.001, 0.35, 0.001])
    kl = np.asarray(kl_log_uniform(alpha, max_alpha))
    np.testing.assert_allclose(kl, [0.0, np.log(0.701 / 0.35), np.log(0.701 / 0.001)], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("m", [-1.0, 0.5])
def test_log_uniform_kl_matches_monte_carlo_up_to_its_constant(m):
    # Against the improper prior q(z) = c/z, KL = E_p[log p(z)] - E_p[log q(z)] = E_p[log p(z) + log z] - log c.
    # Its α-dependence must be exactly -log α (Prop. 2): the MC estimate minus our KL is the same
    # constant for every α. Tolerance: 6 standard errors of the MC means (a difference of two).
    differences, standard_errors = [], []
    for alpha in (0.05, 0.2, 0.7):
        z = np.exp(m + alpha * RNG.standard_normal(N_SAMPLES))
        terms = stats.lognorm.logpdf(z, s=alpha, scale=np.exp(m)) + np.log(z)
        differences.append(terms.mean() - float(kl_log_uniform(np.float32(alpha), 0.7)))
        standard_errors.append(terms.std() / np.sqrt(N_SAMPLES))
    assert max(differences) - min(differences) < 6 * max(standard_errors) + 1e-5


def test_gaussian_kl_closed_form_values():
    assert float(kl_gaussian(0.0, 1.0, 0.0, 1.0)) == pytest.approx(0.0, abs=1e-7)
    # KL(N(1, 2²) || N(0, 1)) = ½(4 + 1 - 1) - log 2
    assert float(kl_gaussian(1.0, 2.0, 0.0, 1.0)) == pytest.approx(2.0 - np.log(2.0), rel=1e-6)
    # KL(N(0, 1) || N(2, 3²)) = ½(1/9 + 4/9 - 1) + log 3
    assert float(kl_gaussian(0.0, 1.0, 2.0, 3.0)) == pytest.approx(0.5 * (5 / 9 - 1) + np.log(3.0), rel=1e-6)


@pytest.mark.parametrize("f, alpha, mu, sigma", [(0.8, 0.3, 0.0, 1.0), (2.5, 0.6, 0.4, 0.5), (1e-6, 0.1, -2.0, 1.5)])
def test_log_normal_kl_matches_monte_carlo_between_sampled_log_normals(f, alpha, mu, sigma):
    # z = f·ε with log ε ~ N(0, α²), against the prior logN(μ, σ²); f is floored at 1e-4 (the original's).
    location = max(f, 1e-4)
    z = location * np.exp(alpha * RNG.standard_normal(N_SAMPLES))
    log_ratio = stats.lognorm.logpdf(z, s=alpha, scale=location) - stats.lognorm.logpdf(z, s=sigma, scale=np.exp(mu))
    standard_error = log_ratio.std() / np.sqrt(N_SAMPLES)
    assert float(kl_log_normal(np.float32(f), np.float32(alpha), mu, sigma)) == pytest.approx(
        log_ratio.mean(), abs=4 * standard_error + 1e-4)
