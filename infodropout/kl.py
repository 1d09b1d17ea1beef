"""KL divergences of Information Dropout's noise against its priors (paper §6, Props. 2 and 3).

The noise is multiplicative and log-normal, so every divergence here is one between the Gaussian
log N(m, α²) of log z and the log of the prior; the functions take and return backend tensors
(or numpy arrays) of any shape and work element-wise, one value per unit.
"""

from __future__ import annotations

from keras import ops

# α is kept above this so that log α stays finite (the original code's constant).
ALPHA_FLOOR = 0.001
# f(x) is clipped here before its logarithm in the log-normal KL (the original code's constant).
ACTIVATION_FLOOR = 1e-4


def kl_log_uniform(alpha, max_alpha: float):
    """KL against the log-uniform prior of ReLU units (Prop. 2): −log α + const.

    The constant is chosen, as in the authors' code, so that the KL is 0 at the largest α the
    layer can produce (``max_alpha + 0.001``) and positive below it:
    ``KL = −log(α / (max_alpha + 0.001))``. Units with f(x) = 0 are not treated apart, as in the paper.
    """
    return -ops.log(alpha / (max_alpha + ALPHA_FLOOR))


def kl_gaussian(mean, std, prior_mean, prior_std):
    """KL( N(mean, std²) || N(prior_mean, prior_std²) ), element-wise.

    ``½[(std/σ)² + (mean − μ)²/σ² − 1] + log σ − log std``.
    """
    return 0.5 * (
        ops.square(std / prior_std) + ops.square(mean - prior_mean) / ops.square(prior_std) - 1.0
    ) + ops.log(prior_std) - ops.log(std)


def kl_log_normal(activations, alpha, prior_mean, prior_std):
    """KL against a log-normal prior logN(μ, σ²) of Softplus units (Prop. 3).

    With z = f(x)·ε and log ε ~ N(0, α²), log z ~ N(log f(x), α²); the divergence between two
    log-normals equals the one between the Gaussians of their logarithms. f(x) is floored at 1e-4
    before the log, as in the original code.
    """
    mean = ops.log(ops.maximum(activations, ACTIVATION_FLOOR))
    return kl_gaussian(mean, alpha, prior_mean, prior_std)
