"""Figure 1's shape statistics of log z against closed forms: a uniform, a normal and a skewed law."""
import numpy as np
import pytest
from scipy import stats

from infodropout.log_activations import KS_NORMAL_TO_UNIFORM_CENTRAL, log_activation_shape


def test_a_uniform_is_flat_and_a_normal_is_normal():
    rng = np.random.default_rng(0)
    uniform = log_activation_shape(rng.uniform(-3, 1, 200_000))
    normal = log_activation_shape(rng.normal(2.0, 0.5, 200_000))
    assert uniform["ks_uniform_central"] < 0.01 and normal["ks_normal"] < 0.01
    assert uniform["excess_kurtosis"] == pytest.approx(-1.2, abs=0.02) and abs(uniform["skew"]) < 0.02
    assert normal["excess_kurtosis"] == pytest.approx(0.0, abs=0.05) and abs(normal["skew"]) < 0.02
    # A normal's central 90 % against a uniform: the reference distance the report judges flatness by.
    assert normal["ks_uniform_central"] == pytest.approx(KS_NORMAL_TO_UNIFORM_CENTRAL, abs=0.005)
    # The uniform's distance to a normal of its mean and spread, by scipy.
    values = rng.uniform(-3, 1, 200_000)
    expected = stats.kstest(values, "norm", args=(values.mean(), values.std())).statistic
    assert log_activation_shape(values)["ks_normal"] == pytest.approx(expected, abs=1e-4)


def test_skew_and_zeros():
    rng = np.random.default_rng(1)
    skewed = log_activation_shape(rng.exponential(size=100_000))
    assert skewed["skew"] == pytest.approx(2.0, abs=0.1) and skewed["excess_kurtosis"] == pytest.approx(6.0, abs=0.6)
    # ReLU units at 0 have log z = −∞: left out (counted apart by log_activation_summary).
    with_zeros = np.concatenate([np.log(rng.uniform(0.1, 1.0, 5000)), np.full(5000, -np.inf)])
    assert log_activation_shape(with_zeros)["shape_values"] == 5000
    with pytest.raises(ValueError, match="at least 10 finite"):
        log_activation_shape(np.full(100, -np.inf))
    assert log_activation_shape(rng.normal(size=50_000), max_values=1000)["shape_values"] == 1000
