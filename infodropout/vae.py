"""The variational autoencoder of Table I: Kingma & Welling's basic VAE with a Gaussian latent or an
Information Dropout latent, its Bernoulli likelihood and its test-set variational lower bound."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from infodropout.layers import InformationDropout
from infodropout.objective import kl_weights

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
        self.mean_layer = keras.layers.Dense(units, name="mean", dtype=self.dtype_policy)
        self.log_variance_layer = keras.layers.Dense(units, name="log_variance", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.mean_layer.build(input_shape)
        self.log_variance_layer.build(input_shape)

    def call(self, inputs, training=None):
        mean, log_variance = self.mean_layer(inputs), self.log_variance_layer(inputs)
        # The KL and the noise in float32 whatever the dtype policy (exp overflows float16 early); z in mean's dtype.
        mean32, log_variance32 = ops.cast(mean, "float32"), ops.cast(log_variance, "float32")
        kl = 0.5 * (ops.square(mean32) + ops.exp(log_variance32) - log_variance32 - 1.0)
        self.add_loss(self.kl_weight * ops.mean(ops.sum(kl, axis=-1)))
        if not training:
            return mean
        noise = ops.exp(0.5 * log_variance32) * keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.cast(noise, mean.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "kl_weight": self.kl_weight, "seed": self.seed}


def variational_autoencoder(k: int = 1, latent: str = "gaussian", max_alpha: float = 0.7,
                            input_shape: tuple[int, ...] = (28, 28, 1), prior: str = "log_uniform",
                            kl_weight: float = 1.0) -> keras.Model:
    """Encoder and decoder with ``512·k`` ReLU hidden units and a latent of ``256·k`` units; the
    output is the Bernoulli decoder's logits, in the input's shape.

    ``latent="information"`` makes the latent an Information Dropout layer around a dense map:
    z = f(h)·ε, with f ReLU and the log-uniform prior (``prior="log_uniform"``, the paper's), or f
    Softplus and a learned log-normal prior (``prior="log_normal"``, a proper prior, so that the
    lower bound is a true bound). The KL enters the model's losses with weight ``kl_weight`` (β; the KL is per
    image, as −log p(x|z) is), so that with β = 1 the objective's ``Lx + Lz`` is the negative lower bound.
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
        z = GaussianLatent(256 * k, kl_weight=kl_weight, name="latent")(h)
    else:
        z = InformationDropout(keras.layers.Dense(256 * k, name="latent_map"), kl_weight=kl_weight,
                               activation="relu" if prior == "log_uniform" else "softplus", prior=prior,
                               max_alpha=max_alpha, name="latent")(h)
    h = keras.layers.Dense(512 * k, activation="relu", name="decoder")(z)
    logits = keras.layers.Dense(int(np.prod(input_shape)), name="logits")(h)
    return keras.Model(inputs, keras.layers.Reshape(input_shape)(logits), name=f"vae_{latent}_{k}")


def reconstruction_loss(targets, logits):
    """−log p(x|z) per image: the VAE's task loss Lx (``compile(loss=reconstruction_loss)``)."""
    return -bernoulli_log_likelihood(targets, logits)


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
    draws per image. Returns ``elbo``, ``reconstruction`` (E log p(x|z)) and ``kl``; the KL is the divergence
    itself whatever β (``kl_weight``) the network was trained with."""
    reconstruction, kl = [], []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        for _ in range(samples):
            with kl_weights(network, 1.0):
                log_likelihood = bernoulli_log_likelihood(batch, network(batch, training=True))
                divergence = ops.sum(ops.stack(network.losses))
            # Through numpy: on PyTorch these tensors carry a gradient graph, which float() would warn about.
            reconstruction.append(float(ops.convert_to_numpy(ops.sum(log_likelihood))))
            kl.append(float(ops.convert_to_numpy(divergence)) * len(batch))
    count = len(x) * samples
    return {"elbo": (sum(reconstruction) - sum(kl)) / count, "reconstruction": sum(reconstruction) / count,
            "kl": sum(kl) / count}
