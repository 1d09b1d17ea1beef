"""The variational autoencoder of Table I: Kingma & Welling's basic VAE with a Gaussian latent or an
Information Dropout latent, its Bernoulli likelihood and its test-set variational lower bound."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from infodropout.layers import InformationDropout

LATENTS = ("gaussian", "information")


@keras.saving.register_keras_serializable(package="infodropout")
class GaussianLatent(keras.layers.Layer):
    """The Gaussian latent of a VAE: q(z|x) = N(μ(x), diag σ(x)²), against the prior N(0, I).

    ``z = μ + σ·n`` with n ~ N(0, I) in training, ``z = μ`` at inference; adds
    ``kl_weight · mean_batch(Σ_units KL)`` to its losses, with the closed form
    ``KL = ½ Σ (μ² + σ² − log σ² − 1)``.

    Args:
        units: the latent's size.
        kl_weight: the KL's factor in the loss.
        seed: seed of the noise.
    """

    def __init__(self, units: int, kl_weight: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.mean_layer = keras.layers.Dense(units, name="mean")
        self.log_variance_layer = keras.layers.Dense(units, name="log_variance")

    def build(self, input_shape):
        self.mean_layer.build(input_shape)
        self.log_variance_layer.build(input_shape)

    def call(self, inputs, training=None):
        mean, log_variance = self.mean_layer(inputs), self.log_variance_layer(inputs)
        kl = 0.5 * (ops.square(mean) + ops.exp(log_variance) - log_variance - 1.0)
        self.add_loss(self.kl_weight * ops.mean(ops.sum(kl, axis=-1)))
        if not training:
            return mean
        return mean + ops.exp(0.5 * log_variance) * keras.random.normal(ops.shape(mean), seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "kl_weight": self.kl_weight, "seed": self.seed}


def variational_autoencoder(k: int = 1, latent: str = "gaussian", max_alpha: float = 0.7,
                            input_shape: tuple[int, ...] = (28, 28, 1), prior: str = "log_uniform") -> keras.Model:
    """Encoder and decoder with ``512·k`` ReLU hidden units and a latent of ``256·k`` units; the
    output is the Bernoulli decoder's logits, in the input's shape.

    ``latent="information"`` makes the latent an Information Dropout layer around a dense map:
    z = f(h)·ε, with f ReLU and the log-uniform prior (``prior="log_uniform"``, the paper's), or f
    Softplus and a learned log-normal prior (``prior="log_normal"``, a proper prior, so that the
    lower bound is a true bound). The KL enters the model's losses with weight 1 (per image); the
    trainer multiplies it by β.
    """
    if latent not in LATENTS:
        raise ValueError(f"latent must be one of {LATENTS}, got {latent!r}.")
    if prior not in ("log_uniform", "log_normal"):
        raise ValueError(f"prior must be 'log_uniform' or 'log_normal', got {prior!r}.")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    inputs = keras.Input(input_shape, name="image")
    h = keras.layers.Dense(512 * k, activation="relu", name="encoder")(keras.layers.Flatten()(inputs))
    if latent == "gaussian":
        z = GaussianLatent(256 * k, name="latent")(h)
    else:
        z = InformationDropout(keras.layers.Dense(256 * k, name="latent_map"), kl_weight=1.0,
                               activation="relu" if prior == "log_uniform" else "softplus", prior=prior,
                               max_alpha=max_alpha, name="latent")(h)
    h = keras.layers.Dense(512 * k, activation="relu", name="decoder")(z)
    logits = keras.layers.Dense(int(np.prod(input_shape)), name="logits")(h)
    return keras.Model(inputs, keras.layers.Reshape(input_shape)(logits), name=f"vae_{latent}_{k}")


def bernoulli_log_likelihood(targets, logits):
    """log p(x|z) of the Bernoulli decoder, summed over each image's pixels: a (batch,) tensor."""
    per_pixel = ops.binary_crossentropy(targets, logits, from_logits=True)
    return -ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=1)


def binarize(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Stochastic binarisation, drawn once: each pixel is 1 with probability its intensity in [0, 1]
    (as Salakhutdinov & Murray 2008), with a fixed seed so every run sees the same binary digits."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=images.shape) < images).astype("float32")


def variational_lower_bound(network: keras.Model, x: np.ndarray, samples: int = 10, batch_size: int = 100) -> dict:
    """The test-set variational lower bound in nats per image, the same way for both latents:
    ``log p(x|z) − KL(q(z|x) || p(z))`` with z drawn from q (noise on) and averaged over ``samples``
    draws per image. Returns ``elbo``, ``reconstruction`` (E log p(x|z)) and ``kl``."""
    reconstruction, kl = [], []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        for _ in range(samples):
            log_likelihood = bernoulli_log_likelihood(batch, network(batch, training=True))
            # Through numpy: on PyTorch these tensors carry a gradient graph, which float() would warn about.
            reconstruction.append(float(ops.convert_to_numpy(ops.sum(log_likelihood))))
            kl.append(float(ops.convert_to_numpy(ops.sum(ops.stack(network.losses)))) * len(batch))
    count = len(x) * samples
    return {"elbo": (sum(reconstruction) - sum(kl)) / count, "reconstruction": sum(reconstruction) / count,
            "kl": sum(kl) / count}
