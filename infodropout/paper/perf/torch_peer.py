"""A plain PyTorch port of the paper's networks with Information Dropout: the peer that issue 48 measures the training
step against (``python -m infodropout.paper.perf.versus_torch``). A benchmark only: torch is never a requirement of
the project, and this module imports it inside its functions, so that the package imports without it.

The port is what a PyTorch user would write from the paper and :mod:`infodropout.models`, eager and NCHW, the same
network as the Keras builders at a given share of the filters (tests/test_torch_peer.py checks the trainable
parameters, the FLOPs and the output shape against the Keras model):

- every convolution without bias, then batch norm without scale (ε = 1e-3; Keras's momentum 0.9 is PyTorch's 0.1),
  then ReLU; the stride-2 convolution of each block is Information Dropout's f, whose α comes from a parallel
  convolution of the same geometry with a bias: α = 0.001 + max_alpha · sigmoid(g(x)) (:data:`ALPHA_FLOOR`);
- the noise ε = exp(α · n), n ~ N(0, 1), not rescaled to unit mean, as :class:`infodropout.InformationDropout`;
- the KL of ReLU units against the log-uniform prior, −log(α / (max_alpha + 0.001)), added to the loss as
  ``kl_weight · mean_batch(Σ_units KL)``; the cross-entropy's batch mean; ``weight_decay · Σ‖w‖²/2`` over every
  trainable parameter, computed in the loss as :mod:`infodropout.objective` does (or, PyTorch's idiom and the same
  gradient, by SGD's ``weight_decay``: ``decay_in_optimizer``); SGD with Nesterov momentum 0.9;
- the VAE of Table I (:func:`infodropout.vae.variational_autoencoder`, the Information latent with ReLU and the
  log-uniform prior; Adam at 1e-3 with Keras's ε, the Bernoulli −log p(x|z) summed over pixels).

Where it differs, on purpose (the same arithmetic, a plain port's idiom): f and α are two convolutions (the Keras
side computes them as one, ``fused=True``, its speed option); the stride-2 convolutions pad one pixel on every side
(TensorFlow's SAME pads only the bottom and right for even sizes: the same shapes and multiply-adds, the windows
one pixel apart); PyTorch's moving variance is the unbiased one (Keras keeps the biased one; training is the same).
Initial weights are Glorot-uniform with zero biases, as Keras's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Neither imports Keras: the port's process must not start TensorFlow's thread pools beside PyTorch's.
from infodropout.models import all_cnn_widths
from infodropout.paper.protocols import PAPER_KL_WEIGHT, VAE

# α's floor, infodropout.kl.ALPHA_FLOOR (a test checks they agree): that module imports Keras, this one must not.
ALPHA_FLOOR = 0.001

# The benchmark's settings, as bench.py's classifier_for and the VAE's protocol.
CLASSIFIER_LEARNING_RATE = 0.01
CLASSIFIER_WEIGHT_DECAY = 0.001
MAX_ALPHA = 0.7
NUM_CLASSES = 10


@dataclass(frozen=True)
class NetworkSpec:
    """A network of the comparison: ``kind`` is ``"all_cnn_32"``, ``"all_cnn_96"`` (as
    :data:`infodropout.models.ALL_CNN_WIDTHS`) or ``"vae"``; ``size`` the share of the filters (All-CNN) or the VAE's
    k; ``input_shape`` channels last, as Keras's."""

    name: str
    kind: str
    size: float
    input_shape: tuple[int, int, int]


_ALL_CNN = re.compile(r"All-CNN-(32|96) @ ([0-9.]+)")
_VAE = re.compile(r"VAE k=([0-9]+)")
_INPUTS = {"all_cnn_32": (32, 32, 3), "all_cnn_96": (96, 96, 1), "vae": (28, 28, 1)}
NETWORK_NAMES = "'All-CNN-32 @ <share>', 'All-CNN-96 @ <share>' or 'VAE k=<k>'"


def parse_network(name: str) -> NetworkSpec:
    """``"All-CNN-32 @ 0.1"``, ``"All-CNN-96 @ 0.125"`` (any share in (0, 1]) or ``"VAE k=1"``; ``ValueError`` for
    anything else, or a share that leaves a layer no filter."""
    if match := _ALL_CNN.fullmatch(name.strip()):
        kind, share = f"all_cnn_{match[1]}", float(match[2])
        all_cnn_widths(share, kind)  # raises for a share out of (0, 1] or one that empties a layer
        return NetworkSpec(name, kind, share, _INPUTS[kind])
    if (match := _VAE.fullmatch(name.strip())) and int(match[1]) >= 1:
        return NetworkSpec(name, "vae", int(match[1]), _INPUTS["vae"])
    raise ValueError(f"unknown network {name!r}: {NETWORK_NAMES}")


def set_threads(threads: int) -> None:
    """Make PyTorch's ops use ``threads`` threads (intra- and inter-op); before its first parallel op."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set, or parallel work has begun: the intra-op count is what eager ops use
        pass


@functools.cache
def _classes() -> dict[str, type]:
    """The modules, made on first use so that torch is imported only when the port is."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def glorot(module: nn.Module) -> nn.Module:
        # Keras's defaults: Glorot-uniform kernels (fan-in and fan-out count the kernel's window), zero biases.
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
        return module

    class BatchNormNoScale(nn.Module):
        """Batch norm with a learned offset and no scale, as the paper's networks (one fused kernel in PyTorch)."""

        def __init__(self, channels: int):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(channels))
            self.register_buffer("running_mean", torch.zeros(channels))
            self.register_buffer("running_var", torch.ones(channels))

        def forward(self, x):
            return F.batch_norm(x, self.running_mean, self.running_var, None, self.bias, self.training,
                                momentum=0.1, eps=1e-3)

    def conv(cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
        return glorot(nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=bias))

    class ConvBN(nn.Module):
        def __init__(self, cin: int, cout: int, kernel: int):
            super().__init__()
            self.conv, self.norm = conv(cin, cout, kernel), BatchNormNoScale(cout)

        def forward(self, x):
            return F.relu(self.norm(self.conv(x)))

    class InformationDropout(nn.Module):
        """z = f(x)·exp(α(x)·n) with f = ReLU(norm(linear(x))) and α = 0.001 + max_alpha·sigmoid(alpha_map(x));
        returns z (f(x) in eval mode) and kl_weight · mean_batch(Σ_units KL) against the log-uniform prior."""

        def __init__(self, linear: nn.Module, alpha_map: nn.Module, norm: nn.Module | None, max_alpha: float,
                     kl_weight: float):
            super().__init__()
            self.linear, self.alpha_map, self.norm = linear, alpha_map, norm
            self.max_alpha, self.kl_weight = max_alpha, kl_weight

        def forward(self, x):
            f = self.linear(x)
            f = F.relu(self.norm(f) if self.norm is not None else f)
            alpha = ALPHA_FLOOR + self.max_alpha * torch.sigmoid(self.alpha_map(x))
            kl = -torch.log(alpha / (self.max_alpha + ALPHA_FLOOR))
            kl = self.kl_weight * kl.flatten(1).sum(1).mean()
            if not self.training:
                return f, kl
            return f * torch.exp(alpha * torch.randn_like(f)), kl

    class AllCNN(nn.Module):
        """Table II's All-CNN with Information Dropout: returns the logits and the layers' summed KL term."""

        def __init__(self, in_channels: int, block_filters: tuple[int, ...], max_alpha: float, kl_weight: float):
            super().__init__()
            layers: list[nn.Module] = []
            channels = in_channels
            for filters in block_filters:
                pool = InformationDropout(conv(filters, filters, 3, 2), conv(filters, filters, 3, 2, bias=True),
                                          BatchNormNoScale(filters), max_alpha, kl_weight)
                layers += [ConvBN(channels, filters, 3), ConvBN(filters, filters, 3), pool]
                channels = filters
            head = block_filters[-1]
            layers += [ConvBN(channels, head, 3), ConvBN(head, head, 1), ConvBN(head, NUM_CLASSES, 1)]
            self.layers = nn.ModuleList(layers)
            self.logits = glorot(nn.Linear(NUM_CLASSES, NUM_CLASSES))

        def forward(self, x):
            kl = x.new_zeros(())
            for layer in self.layers:
                if isinstance(layer, InformationDropout):
                    x, layer_kl = layer(x)
                    kl = kl + layer_kl
                else:
                    x = layer(x)
            return self.logits(x.mean((2, 3))), kl

    class VariationalAutoencoder(nn.Module):
        """Table I's VAE with the Information latent: 512·k ReLU units, a latent of 256·k, 512·k, the logits."""

        def __init__(self, k: int, pixels: int, max_alpha: float, kl_weight: float):
            super().__init__()
            self.encoder = glorot(nn.Linear(pixels, 512 * k))
            self.latent = InformationDropout(glorot(nn.Linear(512 * k, 256 * k)), glorot(nn.Linear(512 * k, 256 * k)),
                                             None, max_alpha, kl_weight)
            self.decoder = glorot(nn.Linear(256 * k, 512 * k))
            self.logits = glorot(nn.Linear(512 * k, pixels))

        def forward(self, x):
            z, kl = self.latent(F.relu(self.encoder(x.flatten(1))))
            return self.logits(F.relu(self.decoder(z))).view_as(x), kl

    return {"AllCNN": AllCNN, "VariationalAutoencoder": VariationalAutoencoder}


def build(spec: NetworkSpec, *, max_alpha: float = MAX_ALPHA, kl_weight: float | None = None) -> Any:
    """The port of ``spec``'s network (a ``torch.nn.Module`` in training mode); ``kl_weight`` by default the
    benchmark's: β/N of the paper's CIFAR-10 runs for the All-CNNs, β = 1 for the VAE."""
    classes = _classes()
    if spec.kind == "vae":
        weight = VAE["beta"] if kl_weight is None else kl_weight
        pixels = spec.input_shape[0] * spec.input_shape[1] * spec.input_shape[2]
        return classes["VariationalAutoencoder"](int(spec.size), pixels, max_alpha, weight)
    weight = PAPER_KL_WEIGHT if kl_weight is None else kl_weight
    return classes["AllCNN"](spec.input_shape[-1], all_cnn_widths(spec.size, spec.kind), max_alpha, weight)


def trainable_parameters(model: Any) -> int:
    """The number of trainable parameters (Keras's ``trainable_weights``, counted the same way)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def training_flops_per_image(model: Any, spec: NetworkSpec) -> float:
    """FLOPs of one training image counted as bench.py counts them from the Keras layers: 3× the forward
    multiply-adds of every convolution and linear layer, 2 FLOPs each (read off one forward pass of one image)."""
    import torch
    from torch import nn

    forward = 0

    def count(module, inputs, output):
        nonlocal forward
        if isinstance(module, nn.Conv2d):
            out_c, in_c, k_h, k_w = module.weight.shape
            forward += 2 * k_h * k_w * in_c * out_c * output.shape[2] * output.shape[3]
        else:
            forward += 2 * module.weight.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example_batch(spec, 1)[0])
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return 3.0 * forward


def example_batch(spec: NetworkSpec, batch_size: int, seed: int = 0) -> tuple[Any, Any]:
    """A batch in NCHW, as the benchmark feeds both sides (the same numbers as ``keras_batch``): normal images and
    labels for an All-CNN, binary digits as input and target for the VAE."""
    import torch

    images, targets = keras_batch(spec, batch_size, seed)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    y = x if spec.kind == "vae" else torch.from_numpy(targets).long()
    return x, y


def keras_batch(spec: NetworkSpec, batch_size: int, seed: int = 0) -> tuple[Any, Any]:
    """The benchmark's batch in numpy, channels last (bench.py's: normal images, uniform labels; binary digits for
    the VAE, whose target is its input)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if spec.kind == "vae":
        images = (rng.uniform(size=(batch_size, *spec.input_shape)) < 0.2).astype("float32")
        return images, images
    return rng.normal(size=(batch_size, *spec.input_shape)).astype("float32"), rng.integers(0, 10, size=batch_size)


def make_optimizer(spec: NetworkSpec, model: Any, decay_in_optimizer: bool = False) -> Any:
    """SGD with Nesterov momentum 0.9 at the benchmark's rate (All-CNN), Adam at the VAE protocol's rate with Keras's
    ε (the VAE). ``decay_in_optimizer``: SGD adds weight_decay · w to each gradient itself (PyTorch's idiom; the
    gradient of the loss's weight_decay · Σ‖w‖²/2, which :func:`objective` then leaves out)."""
    import torch

    if spec.kind == "vae":
        return torch.optim.Adam(model.parameters(), lr=VAE["learning_rate"], eps=1e-7)
    return torch.optim.SGD(model.parameters(), lr=CLASSIFIER_LEARNING_RATE, momentum=0.9, nesterov=True,
                           weight_decay=CLASSIFIER_WEIGHT_DECAY if decay_in_optimizer else 0.0)


def objective(spec: NetworkSpec, model: Any, x: Any, y: Any, decay_in_optimizer: bool = False) -> Any:
    """The training loss of one batch: Lx + Lz + weight_decay · Σ‖w‖²/2, as :mod:`infodropout.objective` (the VAE
    has no weight decay; with ``decay_in_optimizer`` the optimizer applies it)."""
    import torch
    import torch.nn.functional as F

    outputs, kl = model(x)
    if spec.kind == "vae":
        return F.binary_cross_entropy_with_logits(outputs, y, reduction="none").flatten(1).sum(1).mean() + kl
    loss = F.cross_entropy(outputs, y) + kl
    if decay_in_optimizer:
        return loss
    l2 = torch.stack([p.square().sum() for p in model.parameters() if p.requires_grad]).sum() / 2
    return loss + CLASSIFIER_WEIGHT_DECAY * l2


def updater(spec: NetworkSpec, model: Any, decay_in_optimizer: bool = False) -> Callable[[Any, Any], Any]:
    """A function that makes one eager training step on a batch (x, y): forward, loss, backward, the optimizer's
    update; it returns the loss tensor (reading it is left to the caller, so that a timed step does not)."""
    optimizer = make_optimizer(spec, model, decay_in_optimizer)
    model.train()

    def update(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = objective(spec, model, x, y, decay_in_optimizer)
        loss.backward()
        optimizer.step()
        return loss

    return update


def training_step(spec: NetworkSpec, model: Any, x: Any, y: Any, decay_in_optimizer: bool = False) -> Callable[[], Any]:
    """:func:`updater`'s step on the one batch (x, y), each call: what the benchmark times."""
    update = updater(spec, model, decay_in_optimizer)
    return lambda: update(x, y)


def train_on_digits(share: float, images: Any, labels: Any, steps: int, batch_size: int = 100,
                    seed: int = 0) -> list[float]:
    """The port of All-CNN-32 at ``share`` trained for ``steps`` steps on ``images`` (N, 32, 32, 3), channels last
    as the harness loads them, and their ``labels``, batches taken in order and cycled; the loss of every step. A
    check that the port learns, not a result."""
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(images.astype("float32")).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(labels.astype("int64"))
    spec = parse_network(f"All-CNN-32 @ {share}")
    update = updater(spec, build(spec))
    losses = []
    for index in range(steps):
        start = index * batch_size % (len(x) - batch_size + 1)
        losses.append(float(update(x[start:start + batch_size], y[start:start + batch_size]).detach()))
    return losses
