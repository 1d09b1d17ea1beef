"""The networks of the paper (Table II and §8), as Keras functional models that output logits.

Every convolution is followed by batch normalisation (momentum 0.9, no scale, as the original code's
``batch_norm``) and then the activation; padding is SAME. In the convolutional networks the dropout
layer IS the stride-2 convolution of each block ("information pooling"): Information Dropout wraps
that convolution, so α is computed from the convolution's input; the binary baseline applies dropout
after it. Their Information Dropout layers carry the ``kl_weight`` given, β / N_train for the paper's
objective (:class:`infodropout.objective.InformationBottleneck`), so that ``sum(model.losses)`` is its Lz.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import TYPE_CHECKING

# Keras is imported inside the builders, not here: the scripts check their config against the choices, widths and
# shares below before TensorFlow starts (infodropout.paper.configs.rules), and importing this module must not
# start it.
if TYPE_CHECKING:
    import keras

CONV_DROPOUTS = ("information", "binary", "lognormal", "none")
DENSE_DROPOUTS = ("information", "binary", "lognormal", "none")
ACTIVATIONS = ("relu", "softplus")

# Table II's filters per block at filter_percentage = 1 (each network's head has its last block's width).
ALL_CNN_WIDTHS: dict[str, tuple[int, ...]] = {"all_cnn_32": (96, 192), "all_cnn_96": (32, 64, 96, 192)}
# What filter_percentage may be: the builders' message and the scripts' config rule both say it.
FILTER_SHARES = "a number in (0, 1]"


def check_filter_share(filter_percentage: float, widths: Sequence[int] = ()) -> None:
    """Raise ``ValueError`` unless ``filter_percentage`` is a share of the filters, in (0, 1], that leaves the
    narrowest of ``widths`` at least one filter (the original code's ``int(width · share)``; the wider layers then
    keep one too). The message names the share and the narrowest width, for the scripts to prefix with the key."""
    share = filter_percentage
    if isinstance(share, bool) or not isinstance(share, Real) or not 0 < share <= 1:
        raise ValueError(f"filter_percentage must be {FILTER_SHARES}, got {share!r}.")
    narrowest = min(widths, default=None)
    if narrowest is not None and int(narrowest * share) < 1:
        raise ValueError(f"{share} leaves the narrowest layer ({narrowest} filters) no filter; use at least "
                         f"{1 / narrowest:.4g}.")


def all_cnn_widths(filter_percentage: float, network: str = "all_cnn_32") -> tuple[int, ...]:
    """The filters of each block of ``network`` (a key of :data:`ALL_CNN_WIDTHS`) at ``filter_percentage``,
    ``int(width · share)`` as in the original code; ``ValueError`` (:func:`check_filter_share`) where a layer
    would be left no filter."""
    widths = ALL_CNN_WIDTHS[network]
    check_filter_share(filter_percentage, widths)
    return tuple(int(width * filter_percentage) for width in widths)


def _check_choice(name: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}.")


def _conv_bn(x, filters: int, kernel_size: int, activation: str, strides: int = 1, name: str | None = None):
    import keras

    from infodropout.normalization import FusedBatchNormalization

    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = FusedBatchNormalization(momentum=0.9, epsilon=1e-3, scale=False)(x)
    return keras.layers.Activation(activation)(x)


def _dropout_conv(x, filters: int, index: int, *, dropout: str, activation: str, prior: str | None,
                  max_alpha: float, kl_weight: float, keep_prob: float, fused: bool):
    """The stride-2 3×3 convolution of a block, with its dropout."""
    import keras

    from infodropout.layers import BinaryDropout, InformationDropout, LogNormalDropout

    if dropout == "information":
        conv = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"pool{index}_conv")
        return InformationDropout(conv, kl_weight=kl_weight, activation=activation, prior=prior,
                                  max_alpha=max_alpha, batch_norm=True, fused=fused,
                                  name=f"information_dropout{index}")(x)
    x = _conv_bn(x, filters, 3, activation, strides=2, name=f"pool{index}_conv")
    if dropout == "binary":
        x = BinaryDropout(1.0 - keep_prob, name=f"binary_dropout{index}")(x)
    elif dropout == "lognormal":
        x = LogNormalDropout(max_alpha, name=f"lognormal_dropout{index}")(x)
    return x


def all_cnn(
    input_shape: tuple[int, int, int],
    block_filters: Sequence[int],
    head_filters: int,
    *,
    num_classes: int = 10,
    dropout: str = "information",
    activation: str = "relu",
    prior: str | None = None,
    max_alpha: float = 0.7,
    kl_weight: float = 1.0,
    keep_prob: float = 0.5,
    input_keep_prob: float = 1.0,
    fused: bool = False,
    name: str = "all_cnn",
) -> keras.Model:
    """An All-CNN of Springenberg et al. with batch norm, as in Table II.

    Each entry of ``block_filters`` is a block (3×3 conv, 3×3 conv, 3×3 conv stride 2 + dropout);
    then 3×3 conv ``head_filters``, 1×1 conv ``head_filters``, 1×1 conv ``num_classes``, spatial mean
    and a linear layer to the logits. ``input_keep_prob < 1`` drops input pixels in training (CIFAR).
    ``fused`` is InformationDropout's speed option (one convolution for f and α). ``dropout="lognormal"`` is
    constant log-normal noise with α = ``max_alpha`` after each stride-2 convolution (a baseline of figure 3b).
    """
    import keras

    from infodropout.layers import BinaryDropout

    _check_choice("dropout", dropout, CONV_DROPOUTS)
    _check_choice("activation", activation, ACTIVATIONS)
    if not 0 < keep_prob <= 1 or not 0 < input_keep_prob <= 1:
        raise ValueError(f"keep_prob and input_keep_prob must be in (0, 1], got {keep_prob}, {input_keep_prob}.")
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if input_keep_prob < 1:
        x = BinaryDropout(1.0 - input_keep_prob, name="input_dropout")(x)
    for index, filters in enumerate(block_filters, start=1):
        x = _conv_bn(x, filters, 3, activation)
        x = _conv_bn(x, filters, 3, activation)
        x = _dropout_conv(x, filters, index, dropout=dropout, activation=activation, prior=prior,
                          max_alpha=max_alpha, kl_weight=kl_weight, keep_prob=keep_prob, fused=fused)
    x = _conv_bn(x, head_filters, 3, activation)
    # The learned representation that the nuisance probe of figure 4 reads.
    x = keras.layers.Identity(name="representation")(_conv_bn(x, head_filters, 1, activation))
    x = _conv_bn(x, num_classes, 1, activation)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def nuisance_probe(representation_shape: tuple[int, int, int], filters: int = 192, num_classes: int = 10) -> keras.Model:
    """The classifier that reads a frozen representation to predict the nuisance (figure 4): a 3×3
    convolution of ``filters`` with batch norm and ReLU, a 1×1 convolution to ``num_classes``, the
    spatial mean and a linear layer, i.e. the head of an All-CNN."""
    import keras

    inputs = keras.Input(representation_shape, name="representation")
    x = _conv_bn(inputs, filters, 3, "relu")
    x = keras.layers.Conv2D(num_classes, 1)(x)
    logits = keras.layers.Dense(num_classes, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, logits, name="nuisance_probe")


def all_cnn_32(filter_percentage: float = 1.0, **kwargs) -> keras.Model:
    """All-CNN-32 (Table II a) for 32×32×3 inputs: blocks of 96 and 192 filters, head of 192.

    ``kwargs`` go to :func:`all_cnn` (dropout, activation, max_alpha, kl_weight, keep_prob, ...).
    """
    blocks = all_cnn_widths(filter_percentage, "all_cnn_32")
    return all_cnn((32, 32, 3), blocks, blocks[-1], name="all_cnn_32", **kwargs)


def all_cnn_96(filter_percentage: float = 1.0, **kwargs) -> keras.Model:
    """All-CNN-96 (Table II b) for 96×96×1 inputs: blocks of 32, 64, 96, 192 filters, head of 192."""
    blocks = all_cnn_widths(filter_percentage, "all_cnn_96")
    return all_cnn((96, 96, 1), blocks, blocks[-1], name="all_cnn_96", **kwargs)


def fully_connected(
    width: int,
    *,
    depth: int = 3,
    input_shape: tuple[int, ...] = (28, 28, 1),
    num_classes: int = 10,
    dropout: str = "information",
    max_alpha: float = 0.7,
    kl_weight: float = 1.0,
    keep_prob: float = 0.5,
    fused: bool = False,
    name: str = "fully_connected",
) -> keras.Model:
    """The MNIST network of figure 3a: ``depth`` ReLU hidden layers of ``width`` units, each with dropout.

    ``lognormal`` is constant log-normal noise with α = ``max_alpha``, the largest noise Information
    Dropout may use. No batch norm, as the paper lists none for this network.
    """
    import keras

    from infodropout.layers import BinaryDropout, InformationDropout, LogNormalDropout

    _check_choice("dropout", dropout, DENSE_DROPOUTS)
    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be >= 1, got {width}, {depth}.")
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Flatten()(inputs)
    for index in range(1, depth + 1):
        if dropout == "information":
            x = InformationDropout(keras.layers.Dense(width, name=f"dense{index}"), kl_weight=kl_weight,
                                   activation="relu", max_alpha=max_alpha, fused=fused,
                                   name=f"information_dropout{index}")(x)
            continue
        x = keras.layers.Dense(width, activation="relu", name=f"dense{index}")(x)
        if dropout == "binary":
            x = BinaryDropout(1.0 - keep_prob, name=f"binary_dropout{index}")(x)
        elif dropout == "lognormal":
            x = LogNormalDropout(max_alpha, name=f"lognormal_dropout{index}")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)
