"""Read-outs of trained networks: per-layer KL maps, noisy log-activations and total correlation."""

from __future__ import annotations

import keras
import numpy as np

from infodropout.layers import InformationDropout, information_dropout_layers
from infodropout.prediction import stochastic_inference


def all_layer_readouts(
    model: keras.Model,
    x: np.ndarray,
    layers: list[InformationDropout] | None = None,
    batch_size: int = 100,
    noisy: bool = False,
) -> list[dict[str, np.ndarray]]:
    """``InformationDropout.readout`` of several layers of a functional ``model`` over the inputs ``x``,
    from one pass of the network per batch (by default every Information Dropout layer, in order).

    With ``noisy=True`` every noise layer of the network, these included, samples its noise (batch
    norm stays in inference mode); otherwise the network is deterministic (σ0 = 0). Returns, per
    layer, numpy arrays ``f``, ``alpha``, ``kl``, ``z`` and ``log_z`` with one row per input.
    """
    layers = information_dropout_layers(model) if layers is None else layers
    if not layers:
        raise ValueError(f"model {model.name!r} has no InformationDropout layer.")
    features = keras.Model(model.input, [layer.input for layer in layers])
    chunks: list[dict[str, list[np.ndarray]]] = [{} for _ in layers]
    with stochastic_inference(model):
        for start in range(0, len(x), batch_size):
            inputs = features(x[start:start + batch_size], training=noisy)
            if len(layers) == 1:  # Keras returns a one-output model's output bare, not in a list
                inputs = [inputs]
            for layer, layer_inputs, layer_chunks in zip(layers, inputs, chunks):
                readout = layer.readout(layer_inputs, noise_scale=1.0 if noisy else 0.0, training=False)
                for key, value in readout.items():
                    layer_chunks.setdefault(key, []).append(keras.ops.convert_to_numpy(value))
    return [{key: np.concatenate(values) for key, values in layer_chunks.items()} for layer_chunks in chunks]


def layer_readouts(
    model: keras.Model,
    x: np.ndarray,
    layer: InformationDropout | int = -1,
    batch_size: int = 100,
    noisy: bool = False,
) -> dict[str, np.ndarray]:
    """:func:`all_layer_readouts` of one layer, given as the layer or its index among the model's
    Information Dropout layers."""
    if not isinstance(layer, InformationDropout):
        layers = information_dropout_layers(model)
        if not layers:
            raise ValueError(f"model {model.name!r} has no InformationDropout layer.")
        layer = layers[layer]
    return all_layer_readouts(model, x, [layer], batch_size, noisy)[0]


def relu_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of ``model`` whose output is a ReLU of a dense map: Dense layers with a ReLU
    activation and Information Dropout layers wrapping a Dense layer with one, in order."""
    relu = keras.activations.get("relu")
    found = []
    for layer in model.layers:
        if isinstance(layer, InformationDropout):
            if isinstance(layer.layer, keras.layers.Dense) and layer.activation is relu:
                found.append(layer)
        elif isinstance(layer, keras.layers.Dense) and getattr(layer, "activation", None) is relu:
            found.append(layer)
    return found


def dead_unit_fractions(model: keras.Model, x: np.ndarray, batch_size: int = 100) -> dict[str, float]:
    """For each ReLU dense layer of ``model`` (see :func:`relu_layers`), the share of its units that are
    dead on the probe inputs ``x``: ReLU output exactly 0 on every one of them, so that no gradient
    reaches their weights and they stay dead. Read with the noise off (an Information Dropout layer
    then outputs f(x) itself; multiplicative noise never revives a zero). Keys are the layer names."""
    layers = relu_layers(model)
    if not layers:
        return {}
    features = keras.Model(model.input, [layer.output for layer in layers])
    alive = [None] * len(layers)
    for start in range(0, len(x), batch_size):
        outputs = features(x[start:start + batch_size], training=False)  # noise off, batch norm in test mode
        if len(layers) == 1:  # Keras returns a one-output model's output bare
            outputs = [outputs]
        for index, output in enumerate(outputs):
            active = np.any(keras.ops.convert_to_numpy(output) > 0, axis=0)
            alive[index] = active if alive[index] is None else alive[index] | active
    return {layer.name: float(1.0 - np.mean(active)) for layer, active in zip(layers, alive)}


def log_activation_summary(log_z: np.ndarray) -> dict:
    """What figure 1 shows, in numbers: the mean and standard deviation of the finite values of
    log z, and the share of units at 0 (ReLU units that are off have no logarithm)."""
    values = np.asarray(log_z, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("log_activation_summary: every activation is 0.")
    return {"log_z_mean": float(finite.mean()), "log_z_std": float(finite.std()),
            "zero_fraction": float(1.0 - finite.size / values.size)}


def _ks_distance(sorted_values: np.ndarray, cdf: np.ndarray) -> float:
    """The Kolmogorov–Smirnov distance between the empirical distribution of ``sorted_values`` and a
    distribution whose CDF at those values is ``cdf``."""
    n = len(sorted_values)
    above = np.arange(1, n + 1) / n - cdf
    below = cdf - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


def log_activation_shape(log_z: np.ndarray, max_values: int = 1_000_000, seed: int = 0) -> dict:
    """Figure 1's shape, in numbers, for the claims "log z is about uniform" (ReLU, log-uniform prior) and
    "log z is about normal" (Softplus, log-normal prior). Over the finite values of log z (units at 0
    have no logarithm and are counted apart by :func:`log_activation_summary`):

    - ``ks_uniform_central``: the KS distance of the values inside their 5–95 % quantile range to a
      uniform on that range (0 for a flat density; a normal gives :data:`KS_NORMAL_TO_UNIFORM_CENTRAL`);
    - ``ks_normal``: the KS distance to a normal of the same mean and standard deviation;
    - ``skew`` and ``excess_kurtosis`` (0 and 0 for a normal; 0 and −1.2 for a uniform).

    At most ``max_values`` values are used, drawn without replacement with ``seed``.
    """
    values = np.asarray(log_z, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size < 10:
        raise ValueError(f"log_activation_shape needs at least 10 finite values of log z, got {values.size}.")
    if values.size > max_values:
        values = np.random.default_rng(seed).choice(values, max_values, replace=False)
    values = np.sort(values)
    low, high = np.quantile(values, [0.05, 0.95])
    central = values[(values >= low) & (values <= high)]
    mean, std = values.mean(), values.std()
    if std == 0 or high == low:
        raise ValueError("log_activation_shape: log z is constant.")
    standard = (values - mean) / std
    normal_cdf = 0.5 * (1.0 + _erf(standard / np.sqrt(2.0)))
    return {"ks_uniform_central": _ks_distance(central, (central - low) / (high - low)),
            "ks_normal": _ks_distance(values, normal_cdf),
            "skew": float(np.mean(standard ** 3)), "excess_kurtosis": float(np.mean(standard ** 4) - 3.0),
            "shape_values": int(values.size)}


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to within 1.5e-7 (Abramowitz & Stegun 7.1.26), ample for a KS distance; the
    library may not import scipy."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


# The KS distance to a uniform on the 5–95 % range of an exact normal restricted to that range: how far from
# flat a bell-shaped log z reads on ``ks_uniform_central``; figure 1's ReLU claim is judged against it.
KS_NORMAL_TO_UNIFORM_CENTRAL = 0.0776


def digamma(x: np.ndarray | float) -> np.ndarray:
    """ψ(x) = d log Γ(x)/dx for real x > 0, in numpy (the library may not import scipy).

    The recurrence ψ(x) = ψ(x + 1) − 1/x lifts every argument to x ≥ 6, where the asymptotic series
    ψ(x) ≈ log x − 1/(2x) − Σ_k B_2k / (2k x^2k) = log x − 1/(2x) − 1/(12x²) + 1/(120x⁴) − 1/(252x⁶)
    + 1/(240x⁸) − 1/(132x¹⁰) is accurate to about 1e-12 (its next term is 691/(32760 x¹²) < 1e-11).
    """
    x = np.array(x, dtype=np.float64)
    if np.any(x <= 0) or not np.all(np.isfinite(x)):
        raise ValueError(f"digamma is implemented for finite x > 0, got min {x.min() if x.size else x}.")
    shift = np.zeros_like(x)
    # Six steps at most for x > 0: after them x ≥ 6 wherever it started below.
    for _ in range(6):
        small = x < 6
        shift = shift - np.where(small, 1.0 / x, 0.0)
        x = np.where(small, x + 1.0, x)
    inv2 = 1.0 / (x * x)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    return np.log(x) - 0.5 / x - series + shift


def total_correlation_bias(n: int, p: int, per_unit: bool = True) -> float:
    """The expected excess of the raw total-correlation estimate over the truth, for Gaussian samples.

    With n samples (the mean estimated, m = n − 1 degrees of freedom) of p jointly Gaussian units,
    m·S ~ Wishart_p(m, Σ), and ``det R`` of the sample correlation matrix of *independent* units is
    distributed as ∏_{i=1}^{p−1} Beta((m − i)/2, i/2) (Bartlett's decomposition). With
    E[log Beta(a, b)] = ψ(a) − ψ(a + b), the raw estimate −½ log det R has expectation

        bias(n, p) = −½ Σ_{i=1}^{p−1} [ψ((n − 1 − i)/2) − ψ((n − 1)/2)]  > 0.

    The same bias holds for *any* Gaussian Σ, not only independent units: log det S − log det Σ
    and each log S_ii − log Σ_ii have distributions free of Σ (Σ^{-1/2} S Σ^{-1/2} is a standard
    Wishart; S_ii/Σ_ii a χ²_m/m), so E[TĈ] = TC + bias(n, p) exactly. Divided by p with ``per_unit``.
    At n = 4,000, p = 3,072 it is about 0.28 nats per unit.
    """
    if p < 1 or n <= p:
        raise ValueError(f"total_correlation_bias needs n > p >= 1, got n = {n}, p = {p}.")
    i = np.arange(1, p, dtype=np.float64)
    bias = -0.5 * float(np.sum(digamma((n - 1 - i) / 2) - digamma((n - 1) / 2))) if p > 1 else 0.0
    return bias / p if per_unit else bias


def total_correlation(samples: np.ndarray, per_unit: bool = True, bias_corrected: bool = True) -> float:
    """Total correlation of Gaussian-approximated samples (SPEC §7):
    ``TC = −½ log det(Σ0⁻¹ Σ)`` with Σ the sample covariance and Σ0 its diagonal.

    ``samples`` has one row per example (further axes are flattened into units). With
    ``per_unit`` the value is divided by the number of units, as in the original code.
    It is 0 for independent units and grows with their dependence.

    The raw plug-in estimate is biased upward by an amount that grows with units/samples (0.28 nats
    per unit for independent units at 4,000 samples × 3,072 units). With ``bias_corrected`` (the
    default) the closed-form expectation of that excess for Gaussian samples of the same size,
    ``total_correlation_bias(n, p)``, is subtracted, which makes the estimate unbiased for Gaussian
    data of any correlation; ``bias_corrected=False`` returns the raw plug-in value, and
    raw − corrected is the bias. The corrected value can be slightly negative on independent units.
    """
    data = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    if not np.all(np.isfinite(data)):
        raise ValueError("total_correlation needs finite samples (log z is -inf where a ReLU unit is 0; use Softplus).")
    if data.shape[0] <= data.shape[1]:
        raise ValueError(
            f"total_correlation needs more samples than units to estimate a full-rank covariance, "
            f"got {data.shape[0]} samples of {data.shape[1]} units."
        )
    covariance = np.cov(data, rowvar=False).reshape(data.shape[1], data.shape[1])
    std = np.sqrt(np.diag(covariance))
    # det(Σ0⁻¹Σ) is the determinant of the correlation matrix, better conditioned than Σ itself.
    sign, logdet = np.linalg.slogdet(covariance / np.outer(std, std))
    if sign <= 0:
        raise ValueError("total_correlation: the sample covariance is singular.")
    tc = -0.5 * logdet
    if bias_corrected:
        tc -= total_correlation_bias(data.shape[0], data.shape[1], per_unit=False)
    return float(tc / data.shape[1]) if per_unit else float(tc)


def kl_heatmaps(model: keras.Model, x: np.ndarray, batch_size: int = 100) -> list[np.ndarray]:
    """Figures 2 and 7: for each Information Dropout layer, the KL summed over channels at each
    spatial position, minus the map's minimum, one (N, H, W) array per layer (deterministic network)."""
    maps = []
    for layer, readout in zip(information_dropout_layers(model), all_layer_readouts(model, x, batch_size=batch_size)):
        kl = readout["kl"]
        if kl.ndim != 4:
            raise ValueError(f"kl_heatmaps needs convolutional layers; {layer.name} has a KL of shape {kl.shape[1:]}.")
        summed = kl.sum(axis=-1)
        maps.append(summed - summed.min(axis=(1, 2), keepdims=True))
    return maps


def box_mask(box: np.ndarray, map_shape: tuple[int, int], input_shape: tuple[int, int]) -> np.ndarray:
    """The cells of a (H, W) map whose centre lies in ``box`` = (top, left, bottom, right), given in
    input pixels with bottom and right exclusive, for a map that covers an input of ``input_shape``."""
    (height, width), (in_height, in_width) = map_shape, input_shape
    rows = (np.arange(height) + 0.5) * in_height / height
    cols = (np.arange(width) + 0.5) * in_width / width
    top, left, bottom, right = box
    return ((rows >= top) & (rows < bottom))[:, None] & ((cols >= left) & (cols < right))[None, :]


def localisation_score(
    maps: np.ndarray,
    boxes: np.ndarray,
    input_shape: tuple[int, int],
    excluded: np.ndarray | None = None,
) -> dict[str, float]:
    """How much of each KL map falls on the object: figure 2 in numbers.

    ``maps`` is (N, H, W) (non-negative, e.g. from :func:`kl_heatmaps`), ``boxes`` (N, 4) as in
    :func:`box_mask`. ``excluded`` is an optional (H, W) boolean mask of cells left out of every map
    and box (e.g. :func:`padded_border` of the layer: cells that the convolutions' zero padding reaches,
    which light up on a blank canvas too). Returns

    - ``mass_inside``: the mean over images of the share of the map's mass inside the box (images whose
      map is all zero on the cells kept are left out; NaN if every one is),
    - ``max_inside``: the mean over images of the share of the map's peak cells that lie inside the box;
      one peak counts 1 or 0, a tie of k cells 1/k each (an all-zero map ties everywhere and scores the
      box's share of the cells, what a map without information scores).
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or len(maps) != len(boxes):
        raise ValueError(f"localisation_score needs (N, H, W) maps and N boxes, got {maps.shape} and {len(boxes)}.")
    kept = np.ones(maps.shape[1:], dtype=bool) if excluded is None else ~np.asarray(excluded, dtype=bool)
    if kept.shape != maps.shape[1:]:
        raise ValueError(f"localisation_score: the excluded mask is {kept.shape}, the maps {maps.shape[1:]}.")
    if not kept.any():
        raise ValueError("localisation_score: the excluded mask leaves no cell of the map.")
    shares, peaks = [], []
    for heatmap, box in zip(maps, boxes):
        values = heatmap[kept]
        inside = box_mask(box, heatmap.shape, input_shape)[kept]
        total = values.sum()
        if total > 0:
            shares.append(values[inside].sum() / total)
        peaks.append(np.mean(inside[values == values.max()]))
    return {"mass_inside": float(np.mean(shares)) if shares else float("nan"), "max_inside": float(np.mean(peaks))}


def ink_maps(images: np.ndarray, map_shape: tuple[int, int]) -> np.ndarray:
    """The localisation score's baseline maps: each image's own ink, (N, H, W[, C]) summed over
    channels and averaged over the input pixels of each cell of a (H, W) map (a map that only knows
    where the ink is, at the layer's resolution). The input's sides must be multiples of the map's."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        images = images.sum(axis=-1)
    if images.ndim != 3:
        raise ValueError(f"ink_maps needs (N, H, W) or (N, H, W, C) images, got shape {images.shape}.")
    (count, in_height, in_width), (height, width) = images.shape, map_shape
    if in_height % height or in_width % width:
        raise ValueError(f"ink_maps: a {in_height}×{in_width} input does not pool evenly to {height}×{width}.")
    blocks = images.reshape(count, height, in_height // height, width, in_width // width)
    return blocks.mean(axis=(2, 4))


def localisation_with_baseline(
    maps: np.ndarray,
    images: np.ndarray,
    boxes: np.ndarray,
    excluded: np.ndarray | None = None,
    field_ink: np.ndarray | None = None,
) -> dict[str, float]:
    """:func:`localisation_score` of the KL ``maps`` (N, H, W) of the inputs ``images`` and, as
    ``mass_inside_ink`` and ``max_inside_ink``, the same score of the images' own ink at the maps'
    resolution (:func:`ink_maps`), with the same ``excluded`` cells: what a map that only follows the
    ink scores, so that a KL map localises the object only as far as it beats it. Given ``field_ink``
    (the layer's :func:`field_ink_maps`), its score too, as ``mass_inside_field_ink`` and
    ``max_inside_field_ink``."""
    input_shape = tuple(np.shape(images)[1:3])
    scores = localisation_score(maps, boxes, input_shape, excluded)
    baselines = {"ink": ink_maps(images, np.shape(maps)[1:3])}
    if field_ink is not None:
        baselines["field_ink"] = field_ink
    for name, baseline in baselines.items():
        score = localisation_score(baseline, boxes, input_shape, excluded)
        scores.update({f"{key}_{name}": value for key, value in score.items()})
    return scores


def receptive_fields(model: keras.Model) -> list[tuple[tuple[np.ndarray, np.ndarray], ...]]:
    """For each Information Dropout layer of a convolutional ``model``, per spatial axis, the first and
    the last input index that each cell of its map sees: ``((first_rows, last_rows), (first_cols,
    last_cols))``, with -1 and the input's size where the window reaches the zero padding.

    Follows the model's 2-D convolutions (bare or inside an Information Dropout layer) in the order of
    ``model.layers``, which must form one chain (as in All-CNN); a convolution's window at output
    index j starts at ``j·stride − pad_before`` with TensorFlow's SAME split (the smaller half before).
    """
    spatial = tuple(model.input.shape[1:3])
    reach = [(np.arange(size), np.arange(size)) for size in spatial]
    fields = []
    for layer in model.layers:
        conv = layer.layer if isinstance(layer, InformationDropout) else layer
        if isinstance(conv, keras.layers.Conv2D):
            if tuple(conv.dilation_rate) != (1, 1):
                raise ValueError(f"receptive_fields: {conv.name} is dilated, which it does not follow.")
            reach = [_window_reach(first, last, kernel, stride, conv.padding, size)
                     for (first, last), kernel, stride, size
                     in zip(reach, conv.kernel_size, conv.strides, spatial)]
        if isinstance(layer, InformationDropout):
            if not isinstance(conv, keras.layers.Conv2D):
                raise ValueError(f"receptive_fields needs convolutional layers; {layer.name} wraps {conv.name}.")
            fields.append(tuple(reach))
    return fields


def padded_border(model: keras.Model) -> list[np.ndarray]:
    """For each Information Dropout layer of a convolutional ``model``, the (H, W) boolean mask of the
    cells whose receptive field (:func:`receptive_fields`) reaches past the input's edge into the zero
    padding of a SAME convolution: on a blank canvas these edge bands light up by themselves, so they
    say nothing of where the object is."""
    spatial = tuple(model.input.shape[1:3])
    masks = []
    for (rows_first, rows_last), (cols_first, cols_last) in receptive_fields(model):
        rows = (rows_first < 0) | (rows_last >= spatial[0])
        cols = (cols_first < 0) | (cols_last >= spatial[1])
        masks.append(rows[:, None] | cols[None, :])
    return masks


def field_ink_maps(images: np.ndarray, model: keras.Model) -> list[np.ndarray]:
    """A stronger baseline than :func:`ink_maps`: for each Information Dropout layer of ``model``, each
    image's ink (summed over channels) over each cell's whole receptive field (:func:`receptive_fields`,
    the padding counting as no ink), one (N, H, W) array per layer: the ink blurred as far as the layer
    sees, which peaks where ink is densest over that extent (often the digit rather than a distractor)."""
    images = np.asarray(images, dtype=np.float64)
    ink = images.sum(axis=-1) if images.ndim == 4 else images
    # An integral image with a zero first row and column: any window's sum from four corners.
    integral = np.pad(ink.cumsum(axis=1).cumsum(axis=2), ((0, 0), (1, 0), (1, 0)))
    maps = []
    for (rows_first, rows_last), (cols_first, cols_last) in receptive_fields(model):
        top, bottom = np.clip(rows_first, 0, None), np.clip(rows_last + 1, None, ink.shape[1])
        left, right = np.clip(cols_first, 0, None), np.clip(cols_last + 1, None, ink.shape[2])
        maps.append(integral[:, bottom][:, :, right] - integral[:, top][:, :, right]
                    - integral[:, bottom][:, :, left] + integral[:, top][:, :, left])
    return maps


def _window_reach(first: np.ndarray, last: np.ndarray, kernel: int, stride: int, padding: str,
                  input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """One convolution along one axis: the first and last original input index seen by each output
    cell, given those of its input cells (``first``/``last``), -1 or ``input_size`` where it reaches
    the padding."""
    size = len(first)
    if padding == "same":
        outputs = -(-size // stride)
        before = max((outputs - 1) * stride + kernel - size, 0) // 2
    else:
        outputs, before = (size - kernel) // stride + 1, 0
    start = np.arange(outputs) * stride - before
    end = start + kernel - 1
    return (np.where(start < 0, -1, first[np.clip(start, 0, size - 1)]),
            np.where(end >= size, input_size, last[np.clip(end, 0, size - 1)]))


def information_per_layer(model: keras.Model, x: np.ndarray, batch_size: int = 100) -> dict[str, dict[str, float]]:
    """Figure 6: for each Information Dropout layer, the information it lets through, measured by its
    KL: ``total`` (summed over the layer's units, averaged over the inputs, in nats) and ``per_unit``
    (``total`` divided by the number of units). Deterministic network."""
    result = {}
    for layer, readout in zip(information_dropout_layers(model), all_layer_readouts(model, x, batch_size=batch_size)):
        kl = readout["kl"].reshape(len(x), -1)
        total = float(kl.sum(axis=1).mean())
        result[layer.name] = {"total": total, "per_unit": total / kl.shape[1]}
    return result
