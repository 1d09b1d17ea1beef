"""Information Dropout and the noise layers it is compared with, in Keras 3 style.

Every layer here multiplies its input by noise only when it is called with ``training=True``, and
then scales the noise by a per-layer non-trainable scalar ``noise_scale`` (σ0 in the paper's code,
1 by default). Keeping σ0 in a variable rather than in the ``training`` flag lets the test protocol
switch the noise off while batch norm still runs in training mode (the "dry run" of SPEC §5), with
no retracing and no second model: see :func:`noise_scale`.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections.abc import Iterator

import keras
from keras import ops

from infodropout.kl import ALPHA_FLOOR, kl_log_normal, kl_log_uniform
from infodropout.normalization import FusedBatchNormalization

PRIORS = ("log_uniform", "log_normal")
# The prior each activation is paired with in the paper (Props. 2 and 3).
DEFAULT_PRIOR = {"relu": "log_uniform", "softplus": "log_normal"}


class NoiseLayer(keras.layers.Layer):
    """Base of the layers whose noise is switched by ``training`` and scaled by ``noise_scale``."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.noise_scale = self.add_weight(
            name="noise_scale", shape=(), initializer="ones", trainable=False
        )
        self.built = True

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


def adopt_dtype_policy(owner: keras.layers.Layer, sublayer: keras.layers.Layer) -> None:
    """Give ``sublayer`` the dtype policy of the layer that owns it, where the sublayer kept the global default.

    A layer made inside another, or handed to it, is created under the global policy: without this, a
    ``dtype="mixed_float16"`` on the owner would leave its sublayers computing (and returning) float32. A sublayer
    given a policy of its own keeps it."""
    default = keras.config.dtype_policy().name
    if sublayer.dtype_policy.name == default and owner.dtype_policy.name != default:
        sublayer.dtype_policy = owner.dtype_policy


def _fusable_convolution(layer: keras.layers.Layer) -> bool:
    config = layer.get_config()
    return (hasattr(layer, "convolution_op") and config.get("groups", 1) == 1
            and config.get("data_format", "channels_last") == "channels_last"
            and "Transpose" not in layer.__class__.__name__)


def _log_normal_noise(shape, sigma, seed_generator):
    """ε = exp(σ·n), n ~ N(0, 1): a log-normal sample by reparametrisation (σ gets gradients)."""
    return ops.exp(sigma * keras.random.normal(shape, seed=seed_generator))


@keras.saving.register_keras_serializable(package="infodropout")
class InformationDropout(NoiseLayer):
    """Information Dropout (Achille & Soatto, arXiv:1611.01353, §6) around a conv or dense map.

    The layer computes ``z = f(x) ⊙ ε`` with input-dependent log-normal noise::

        f(x) = activation(batch_norm(layer(x)))
        α(x) = 0.001 + max_alpha · sigmoid(g(x))
        ε    = exp(σ0 · α(x) · n),   n ~ N(0, 1)          (so log ε ~ N(0, σ0² α²))

    ``g`` is a copy of ``layer``'s geometry (same kernel, strides, padding, number of outputs) with
    its own weights and bias, no batch norm and no activation, reading the same input ``x`` as f.
    σ0 is 1 in training and the noise is off at inference, so the test output is f(x) exactly.
    As in the authors' code, ε is not rescaled to unit mean: E[ε] = exp(σ0² α² / 2).

    At every call the layer adds ``kl_weight · mean_batch(Σ_units KL)`` to ``self.losses``, where the
    per-unit KL is, for the ``"log_uniform"`` prior of ReLU units (Prop. 2),
    ``−log(α / (max_alpha + 0.001))``, and for the ``"log_normal"`` prior logN(μ, σ²) of Softplus units
    (Prop. 3, learnable scalars μ = 0 and σ = 1 at initialisation),
    ``½[(α/σ)² + (log f(x) − μ)²/σ² − 1] + log σ − log α``.
    The paper's objective is ``cross-entropy + β · Σ_layers mean_batch(Σ_units KL) / N_train``, so set
    ``kl_weight = β / N_train``: dividing by the number of training examples makes the KL a per-example
    quantity, like the cross-entropy averaged over a batch, and makes β comparable across data sets.

    Args:
        layer: the linear part of f, a Keras ``Conv1D/2D/3D`` or ``Dense`` with no activation. With
            batch norm it needs no bias (``use_bias=False``), as in the paper's networks.
        kl_weight: the factor of this layer's KL in the loss, β / N_train (see above).
        activation: f's activation, ``"relu"`` or ``"softplus"`` for the paper's priors.
        prior: ``"log_uniform"`` or ``"log_normal"``; by default the one that goes with ``activation``.
        max_alpha: the largest α; 0.7 makes the noise's largest variance about that of binary
            dropout with p = 0.5 (the paper's CIFAR setting).
        batch_norm: insert batch normalisation (momentum 0.9, no scale, as in the original) between
            ``layer`` and the activation.
        dtype: the dtype policy, as for any Keras layer. Under ``"mixed_float16"`` or ``"mixed_bfloat16"`` the
            output is in the 16-bit compute dtype and the variables in float32; ``layer`` (if made with the
            default policy), g and batch norm take this policy; α, the noise and the KL stay in float32.
        fused: compute f's and g's linear maps as one convolution (or matrix product) with twice the
            outputs, reading the input once. The same weights and mathematics; a speed option.
        seed: seed of the noise.

    Example:

    >>> import keras
    >>> from infodropout import InformationDropout
    >>> beta, n_train = 3.0, 50_000
    >>> pool = InformationDropout(
    ...     keras.layers.Conv2D(64, 3, strides=2, padding="same", use_bias=False),
    ...     kl_weight=beta / n_train, activation="relu", batch_norm=True, max_alpha=0.7)
    >>> pool(keras.random.normal((8, 32, 32, 16)), training=True).shape
    (8, 16, 16, 64)
    """

    def __init__(
        self,
        layer: keras.layers.Layer,
        kl_weight: float | None = None,
        activation: str = "relu",
        prior: str | None = None,
        max_alpha: float = 0.7,
        batch_norm: bool = False,
        fused: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        layer_config = layer.get_config()
        if layer_config.get("activation") not in (None, "linear"):
            raise ValueError(
                "InformationDropout: the wrapped layer must be linear (activation=None); pass "
                f"activation={layer_config['activation']!r} to InformationDropout instead, so that "
                "batch norm and the KL see the pre-activation and the activation."
            )
        if kl_weight is None:
            raise ValueError(
                "InformationDropout: pass kl_weight=β / N_train, e.g. kl_weight=3.0 / 50_000 for β = 3 on CIFAR-10's "
                "50,000 training images. The layer adds kl_weight · (the batch's mean KL) to the model's losses; "
                "dividing β by the number of training examples makes the KL a per-example term like the mean "
                "cross-entropy (the paper's objective is (1/N) Σ_i [CE_i + β KL_i]). kl_weight=0 measures the KL "
                "without penalising it."
            )
        if prior is None:
            if activation not in DEFAULT_PRIOR:
                raise ValueError(
                    f"InformationDropout: no default prior for activation {activation!r}; "
                    f"pass prior= one of {PRIORS}."
                )
            prior = DEFAULT_PRIOR[activation]
        if prior not in PRIORS:
            raise ValueError(f"InformationDropout: prior must be one of {PRIORS}, got {prior!r}.")
        if activation in DEFAULT_PRIOR and prior != DEFAULT_PRIOR[activation]:
            why = (" The log-normal prior's KL has a term (log f(x) − μ)², infinite where a ReLU unit is 0."
                   if activation == "relu" else "")
            warnings.warn(
                f"InformationDropout: activation={activation!r} with prior={prior!r}; the paper pairs {activation} "
                f"with the {DEFAULT_PRIOR[activation]!r} prior (Props. 2 and 3).{why}", stacklevel=2)
        if not max_alpha > 0:
            raise ValueError(f"InformationDropout: max_alpha must be > 0, got {max_alpha}.")
        if isinstance(kl_weight, bool) or not isinstance(kl_weight, numbers.Real) or not kl_weight >= 0:
            raise ValueError(f"InformationDropout: kl_weight must be a number >= 0 (β / N_train), got {kl_weight!r}.")

        adopt_dtype_policy(self, layer)
        self.layer = layer
        self.kl_weight = float(kl_weight)
        self.activation = keras.activations.get(activation)
        self.prior = prior
        self.max_alpha = float(max_alpha)
        self.batch_norm = bool(batch_norm)
        if fused and not (isinstance(layer, keras.layers.Dense) or _fusable_convolution(layer)):
            raise ValueError("InformationDropout: fused=True needs a Dense or a convolution with groups=1 "
                             f"and channels last, got {layer.__class__.__name__}.")
        self.fused = bool(fused)
        # g has f's geometry and dtype policy (the latter adopted from this layer above, where f kept the default).
        alpha_config = {**layer.get_config(), "name": f"{layer.name}_alpha", "activation": None}
        alpha_config["use_bias"] = True
        self.alpha_layer = layer.__class__.from_config(alpha_config)
        self.normalization = (
            FusedBatchNormalization(momentum=0.9, epsilon=1e-3, scale=False, dtype=self.dtype_policy)
            if batch_norm
            else None
        )

    def build(self, input_shape):
        super().build(input_shape)
        # A deserialised inner layer arrives already built.
        for sublayer, shape in (
            (self.layer, input_shape),
            (self.alpha_layer, input_shape),
            (self.normalization, self.layer.compute_output_shape(input_shape)),
        ):
            if sublayer is not None and not sublayer.built:
                sublayer.build(shape)
        if self.prior == "log_normal":
            # autocast=False: read in float32 under a mixed-precision policy too, as the KL is computed.
            self.prior_mean = self.add_weight(name="prior_mean", shape=(), initializer="zeros", autocast=False)
            self.prior_std = self.add_weight(name="prior_std", shape=(), initializer="ones", autocast=False)

    def activations_and_alpha(self, inputs, training=None):
        """f(x) and α(x): the deterministic output and the noise's standard deviation in log space.

        f is in the layer's compute dtype; α always in float32 (under a mixed-precision policy too), so
        that log α and the KL neither underflow nor lose the floor's 0.001."""
        if self.fused:
            f, g = self._fused_linear_maps(inputs)
        else:
            f, g = self.layer(inputs), self.alpha_layer(inputs)
        if self.normalization is not None:
            f = self.normalization(f, training=training)
        f = self.activation(f)
        alpha = ALPHA_FLOOR + self.max_alpha * ops.sigmoid(ops.cast(g, "float32"))
        return f, alpha

    def _fused_linear_maps(self, inputs):
        """layer(x) and alpha_layer(x) from one product with the two kernels side by side."""
        kernel = ops.concatenate([self.layer.kernel, self.alpha_layer.kernel], axis=-1)
        if isinstance(self.layer, keras.layers.Dense):
            both = ops.matmul(inputs, kernel)
        else:
            both = self.layer.convolution_op(inputs, kernel)
        f, g = ops.split(both, 2, axis=-1)
        if self.layer.use_bias:
            f = f + self.layer.bias
        return f, g + self.alpha_layer.bias

    def kl_divergence(self, activations, alpha):
        """The per-unit KL map, of the shape of f(x), in float32 whatever the dtype policy."""
        alpha = ops.cast(alpha, "float32")
        if self.prior == "log_uniform":
            return kl_log_uniform(alpha, self.max_alpha)
        return kl_log_normal(ops.cast(activations, "float32"), alpha, self.prior_mean, self.prior_std)

    def call(self, inputs, training=None):
        f, alpha = self.activations_and_alpha(inputs, training=training)
        kl = self.kl_divergence(f, alpha)
        self.add_loss(self.kl_weight * ops.mean(ops.sum(ops.reshape(kl, (ops.shape(kl)[0], -1)), axis=1)))
        if not training:
            return f
        # The noise is drawn in float32 from the float32 α, then cast to f's dtype (a no-op in float32).
        noise = _log_normal_noise(ops.shape(f), ops.cast(self.noise_scale, "float32") * alpha, self.seed_generator)
        return f * ops.cast(noise, f.dtype)

    def readout(self, inputs, noise_scale: float = 1.0, training: bool = False) -> dict:
        """Everything the analyses need from one call, with the layer's own weights.

        Returns a dict of tensors: ``f`` (f(x)), ``alpha``, ``kl`` (per unit), ``z`` (the noisy output
        with log ε ~ N(0, (noise_scale·α)²)) and ``log_z`` = log f(x) + log ε (−inf where f(x) = 0,
        i.e. for dead ReLU units; the total-correlation analysis uses Softplus layers).
        ``training`` only sets batch norm's mode.
        """
        # Called outside the layer's __call__, so without mixed precision's autocasting of the weights: the
        # read-outs are computed with the float32 weights, from inputs cast to match.
        inputs = ops.cast(inputs, self.variable_dtype)
        f, alpha = self.activations_and_alpha(inputs, training=training)
        f = ops.cast(f, "float32")  # the inner layers may still compute in 16 bits
        log_noise = noise_scale * alpha * keras.random.normal(ops.shape(f), seed=self.seed_generator)
        return {
            "f": f,
            "alpha": alpha,
            "kl": self.kl_divergence(f, alpha),
            "z": f * ops.exp(log_noise),
            "log_z": ops.log(f) + log_noise,
        }

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "layer": keras.saving.serialize_keras_object(self.layer),
            "kl_weight": self.kl_weight,
            "activation": keras.activations.serialize(self.activation),
            "prior": self.prior,
            "max_alpha": self.max_alpha,
            "batch_norm": self.batch_norm,
            "fused": self.fused,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="infodropout")
class BinaryDropout(NoiseLayer):
    """Standard (inverted) dropout whose mask also obeys ``noise_scale``.

    ``z = x · (1 + σ0 · (m / keep − 1))`` with ``m ~ Bernoulli(keep)``, ``keep = 1 − rate``: plain
    dropout for σ0 = 1, the identity for σ0 = 0 or at inference. The paper's binary baseline uses
    rate 0.5 after the stride-2 convolutions and rate 0.2 on the CIFAR input.

    Args:
        rate: fraction of the units dropped, in [0, 1).
        seed: seed of the mask.

    Example:

    >>> BinaryDropout(0.5)(keras.ops.ones((2, 3)), training=False).shape
    (2, 3)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"BinaryDropout: rate must be in [0, 1), got {rate}.")
        self.rate = float(rate)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        keep = 1.0 - self.rate
        mask = ops.cast(keras.random.uniform(ops.shape(inputs), seed=self.seed_generator) < keep, inputs.dtype)
        return inputs * (1.0 + self.noise_scale * (mask / keep - 1.0))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="infodropout")
class LogNormalDropout(NoiseLayer):
    """Multiplicative log-normal noise of a constant spread: ``z = x · exp(σ0 · alpha · n)``.

    The MNIST baseline of figure 3a: the same noise family as Information Dropout at its largest
    variance, but the same for every unit and input, to isolate the gain from adaptive noise.

    Args:
        alpha: the standard deviation of log ε (> 0).
        seed: seed of the noise.
    """

    def __init__(self, alpha: float, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not alpha > 0:
            raise ValueError(f"LogNormalDropout: alpha must be > 0, got {alpha}.")
        self.alpha = float(alpha)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        # Drawn in float32, then cast to the inputs' (the compute) dtype, so a 16-bit policy gets 16 bits out.
        noise = _log_normal_noise(ops.shape(inputs), ops.cast(self.noise_scale, "float32") * self.alpha,
                                  self.seed_generator)
        return inputs * ops.cast(noise, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "alpha": self.alpha}


def iter_layers(layer: keras.layers.Layer) -> Iterator[keras.layers.Layer]:
    """``layer`` and every layer nested in it, depth first.

    Keras's own tracker is used because user-defined blocks keep their sublayers as attributes,
    which ``Model.layers`` does not list.
    """
    yield from layer._flatten_layers(include_self=True, recursive=True)


def information_dropout_layers(model: keras.layers.Layer) -> list[InformationDropout]:
    """The model's Information Dropout layers, in the order they were added."""
    return [layer for layer in iter_layers(model) if isinstance(layer, InformationDropout)]


@contextlib.contextmanager
def noise_scale(model: keras.layers.Layer, value: float) -> Iterator[None]:
    """Temporarily set σ0 of every noise layer of ``model`` (e.g. 0 for the batch-norm dry run)."""
    layers = [layer for layer in iter_layers(model) if isinstance(layer, NoiseLayer) and layer.built]
    previous = [float(layer.noise_scale.numpy()) for layer in layers]
    for layer in layers:
        layer.noise_scale.assign(value)
    try:
        yield
    finally:
        for layer, old in zip(layers, previous):
            layer.noise_scale.assign(old)
