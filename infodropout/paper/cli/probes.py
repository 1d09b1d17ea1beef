"""The ``probe`` and ``probe_sweep`` commands of the All-CNN scripts: independent estimates of what a trained
representation holds, from :mod:`infodropout.estimators`.

On the test images of a trained run (batch norm recalibrated, as the test protocol does), with the last
Information Dropout layer's output z taken noisy (N: every noise layer samples) and deterministic (D):

- linear and MLP probe errors (%) for the task and, where the data have one, the nuisance, with each probe's
  held-out cross-entropy and training error, and the Barber–Agakov lower bound of I(z; y) they give for free
  (H(y) − cross-entropy, the better of the two probes);
- MINE lower bounds of I(z; y) and I(z; nuisance) (nats), on z's leading principal components, and (N only)
  InfoNCE bounds of the same, with their ceiling log K;
- NDM of the noisy z (nats), on a fixed random subset of its units: how far they are from independent, as
  the total correlation of figure 5 measures;
- for every Information Dropout layer, its KL (mean over images of Σ over units, deterministic inputs), which
  bounds I(x; z) from above, beside MINE and InfoNCE lower bounds of I(f(x); z) ≤ I(x; z), z drawn with that
  layer's noise alone. This comparison is a sanity check, not a test: the KLs are hundreds to thousands of
  nats and no bound from N samples exceeds about log N (InfoNCE's ceiling exactly), so it cannot fail.

Every estimate is stored with ``<key>_stderr``, ``<key>_valid`` and ``<key>_reason`` (see
:meth:`infodropout.estimation_tools.Estimate.fields`); a failed one is ``null``, never NaN. Everything goes to
``plots/<run name>/probes.json`` and a printed table; ``probe_sweep`` gathers it per β into
``plots/<experiment>-probe-sweep<values>/results.json`` with its figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from infodropout.paper.configs.common import MIN_CRITIC_STEPS
from infodropout.paper.train.runs import load_checkpoint, markdown_table, train_and_test
from infodropout.paper.errors import fail
from infodropout.paper.train.run_names import run_name
from infodropout.paper.train.sweeps import PointFunction, run_sweep

# Estimates are on at most this many test images.
MAX_SAMPLES = 10_000
# The critics see at most this many dimensions. On thousands of units and a few thousand images a critic
# memorises its training pairs (MINE gave −0.14 nats for a 3,072-unit z that a probe reads well, NDM −4.3 for
# independent units, and took 4 minutes), so MINE reads the leading principal components of each side (a
# function of it: I(Pz; y) ≤ I(z; y), still a lower bound) and NDM a fixed random subset of the units (the
# total correlation of a subset is at most that of all the units).
MAX_CRITIC_DIMENSIONS = 64
# InfoNCE trains on batches this large (at most a quarter of its training pairs): its training bound cannot
# exceed log of the batch. It is evaluated on all its held-out pairs at once (ceiling log K, K up to 4,096).
INFONCE_BATCH = 512
# Rows are shrunk to at most this multiple of the median row norm before the principal axes are fitted, so
# that a few outlying images cannot claim the leading components; every row is then projected unchanged.
OUTLIER_NORM = 3.0


def principal_components(values: np.ndarray, count: int = MAX_CRITIC_DIMENSIONS) -> np.ndarray:
    """The projection of ``values`` (rows) on its ``count`` leading principal components, or ``values``
    itself where it has no more columns than that. The axes are fitted on the rows centred on their median
    and shrunk to at most :data:`OUTLIER_NORM` times the median row norm (robust to outlying rows); each
    projected component is then standardised and clipped by the estimator itself."""
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    if values.shape[1] <= count:
        return values
    centred = values - np.median(values, axis=0)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    limit = OUTLIER_NORM * max(float(np.median(norms)), 1e-12)
    shrunk = centred * np.minimum(1.0, limit / np.maximum(norms, 1e-12))
    _, _, basis = np.linalg.svd(shrunk - shrunk.mean(axis=0), full_matrices=False)
    return centred @ basis[:count].T


def unit_subset(values: np.ndarray, seed: int, count: int = MAX_CRITIC_DIMENSIONS) -> np.ndarray:
    """A fixed random subset of ``count`` of the units (columns) of ``values``."""
    values = np.asarray(values).reshape(len(values), -1)
    if values.shape[1] <= count:
        return values
    return values[:, np.sort(np.random.default_rng(seed).choice(values.shape[1], count, replace=False))]


def _one_hot(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels).astype("int64").reshape(-1)
    return np.eye(int(labels.max()) + 1, dtype="float32")[labels]


def layer_pairs(network, x: np.ndarray, batch_size: int) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """Per Information Dropout layer, on deterministic inputs: f(x), z = f(x)·ε with that layer's noise
    alone, and the mean over ``x`` of the layer's KL summed over its units."""
    import keras

    from infodropout.layers import information_dropout_layers

    layers = information_dropout_layers(network)
    features = keras.Model(network.input, [layer.input for layer in layers])
    parts: list[dict[str, list]] = [{"f": [], "z": [], "kl": []} for _ in layers]
    for start in range(0, len(x), batch_size):
        inputs = features(x[start:start + batch_size], training=False)
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for layer, layer_input, part in zip(layers, inputs, parts):
            readout = layer.readout(layer_input, noise_scale=1.0, training=False)
            for key in part:
                value = keras.ops.convert_to_numpy(readout[key])
                part[key].append(value.reshape(len(value), -1))
    return [(layer.name, np.concatenate(p["f"]), np.concatenate(p["z"]), float(np.concatenate(p["kl"]).sum(1).mean()))
            for layer, p in zip(layers, parts)]


def _probe_entries(z: np.ndarray, targets: Mapping[str, np.ndarray], mode: str, settings: Mapping) -> dict:
    """The linear and MLP probes of ``z`` for each target: errors, cross-entropies, training errors and the
    better Barber–Agakov bound (``<mode>.ba_<target>``, with the probe that gave it)."""
    from infodropout.probing import probe

    entries: dict = {}
    for target, values in targets.items():
        bounds = {}
        for kind in ("linear", "mlp"):
            measured = probe(z, values, kind=kind, **settings)
            entries[f"{mode}.{kind}_{target}_error"] = float(measured.error)
            entries[f"{mode}.{kind}_{target}_train_error"] = measured.train_error
            entries.update(measured.cross_entropy.fields(f"{mode}.{kind}_{target}_ce"))
            bounds[kind] = measured.barber_agakov
            entries[f"label_entropy_{target}"] = measured.label_entropy
        best = max(bounds, key=lambda kind: float(bounds[kind]) if np.isfinite(bounds[kind]) else -np.inf)
        entries.update(bounds[best].fields(f"{mode}.ba_{target}"))
        entries[f"{mode}.ba_{target}_probe"] = best
    return entries


def representation_estimates(network, x: np.ndarray, labels: np.ndarray, batch_size: int, epochs: int,
                             nuisance: np.ndarray | None = None, seed: int = 0,
                             min_steps: int = MIN_CRITIC_STEPS) -> dict:
    """The independent estimates of the module's docstring, as one flat dict (see :func:`probe_table`)."""
    from infodropout.estimators import mutual_information, neural_dependency
    from infodropout.readouts import layer_readouts

    x, labels = x[:MAX_SAMPLES], np.asarray(labels)[:MAX_SAMPLES]
    nuisance = None if nuisance is None else np.asarray(nuisance)[:MAX_SAMPLES]
    # The critics train on 60 % of the images (10 % validation, 30 % held out): batches of at most a tenth
    # of that, so that a pass has several; at least 4 pairs (the tiny plan probes 32 images).
    train_part = int(len(x) * 0.6)
    mi_batch = int(min(256, max(4, train_part // 10)))
    infonce_batch = int(min(INFONCE_BATCH, max(4, train_part // 4)))
    probe_settings = dict(epochs=epochs, seed=seed, batch_size=min(128, mi_batch))
    critic = dict(epochs=epochs, seed=seed, min_steps=min_steps)
    mine = dict(method="mine", batch_size=mi_batch, **critic)
    infonce = dict(method="infonce", batch_size=infonce_batch, **critic)
    result: dict = {"samples": len(x), "estimator_epochs": epochs, "min_critic_steps": min_steps,
                    "mi_batch_size": mi_batch, "infonce_batch_size": infonce_batch,
                    "kl_check": "sanity check: the KL (hundreds to thousands of nats) against lower bounds of at "
                                "most about log N nats cannot fail"}
    targets = {"task": labels} if nuisance is None else {"task": labels, "nuisance": nuisance}
    last = None
    for mode, noisy in (("N", True), ("D", False)):
        readout = layer_readouts(network, x, layer=-1, batch_size=batch_size, noisy=noisy)
        z = readout["z"].reshape(len(x), -1)
        last = z if noisy else last
        result.update(_probe_entries(z, targets, mode, probe_settings))
        components = principal_components(z)
        for target, values in targets.items():
            result.update(mutual_information(components, _one_hot(values), **mine).fields(f"{mode}.mi_{target}"))
            if noisy:
                result.update(mutual_information(components, _one_hot(values), **infonce)
                              .fields(f"{mode}.infonce_{target}"))
    result.update(neural_dependency(unit_subset(last, seed), batch_size=mi_batch, **critic).fields("ndm"))
    result["critic_dimensions"] = MAX_CRITIC_DIMENSIONS
    for name, f, z, kl in layer_pairs(network, x, batch_size):
        f, z = principal_components(f), principal_components(z)
        result[f"{name}.kl"] = kl
        result.update(mutual_information(f, z, **mine).fields(f"{name}.mine_x_z"))
        result.update(mutual_information(f, z, **infonce).fields(f"{name}.infonce_x_z"))
    return result


def _estimate_text(result: Mapping, key: str, digits: int = 3) -> str:
    """``value ± stderr``, marked where the estimate is not valid (``failed`` where there is none)."""
    value, stderr = result.get(key), result.get(f"{key}_stderr")
    reason = result.get(f"{key}_reason")
    if value is None:
        return f"failed ({reason})" if reason else "–"
    text = f"{value:.{digits}f}" + (f" ± {stderr:.{digits}f}" if stderr is not None else "")
    if result.get(f"{key}_ceiling") is not None:
        text += f" (ceiling {result[f'{key}_ceiling']:.2f})"
    return text + (f" [invalid: {reason}]" if result.get(f"{key}_valid") is False else "")


def probe_table(result: Mapping) -> str:
    """The estimates as a Markdown table: one row per measure, the noisy (N) and deterministic (D) columns."""
    rows = []
    for target in ("task", "nuisance"):
        if f"N.mi_{target}" not in result:
            continue
        for kind in ("linear", "mlp"):
            rows.append([f"{kind} probe error, {target} (%)"] +
                        [f"{result[f'{mode}.{kind}_{target}_error']:.2f}" for mode in ("N", "D")])
            rows.append([f"{kind} probe training error / held-out cross-entropy, {target} (% / nats)"] +
                        [f"{result[f'{mode}.{kind}_{target}_train_error']:.2f} / "
                         f"{_estimate_text(result, f'{mode}.{kind}_{target}_ce')}" for mode in ("N", "D")])
        rows.append([f"Barber–Agakov I(z; {target}) ≥ H − cross-entropy (nats; H = "
                     f"{result[f'label_entropy_{target}']:.3f})"] +
                    [f"{_estimate_text(result, f'{mode}.ba_{target}')} ({result[f'{mode}.ba_{target}_probe']})"
                     for mode in ("N", "D")])
        rows.append([f"MINE I(z; {target}) (nats)"] + [_estimate_text(result, f"{mode}.mi_{target}")
                                                       for mode in ("N", "D")])
        rows.append([f"InfoNCE I(z; {target}) (nats)", _estimate_text(result, f"N.infonce_{target}"), "–"])
    rows.append(["NDM of the last dropout layer (nats)", _estimate_text(result, "ndm"), "–"])
    layers = sorted(key[:-len(".kl")] for key in result if key.endswith(".kl"))
    for layer in layers:
        rows.append([f"{layer}: KL (upper bound of I(x; z); sanity check) / MINE / InfoNCE I(f(x); z) (nats)",
                     f"{result[f'{layer}.kl']:.2f} / {_estimate_text(result, f'{layer}.mine_x_z')} / "
                     f"{_estimate_text(result, f'{layer}.infonce_x_z')}", "–"])
    return markdown_table(["measure", "N (noisy)", "D (deterministic)"], rows)


class ProbeCommands(NamedTuple):
    """An experiment's probe commands, plain functions of its config: ``probe`` (one trained run), ``probe_sweep``
    (every β of ``betas``) and ``probed_run`` (one point of the sweep, in its own process)."""

    probe: Callable[..., dict]
    probe_sweep: Callable[..., None]
    probed_run: Callable[[Mapping], dict]


def probe_commands(name: str, module: str, defaults: Mapping, load_data: Callable, build_network: Callable,
                   nuisance: bool = False) -> ProbeCommands:
    """The probe commands of the experiment ``name``, whose module ``module`` holds ``probed_run`` under that name
    (where a sweep's point process finds it)."""

    def estimates(config, network, data) -> dict:
        return representation_estimates(network, data.x_test, data.y_test, config["batch_size"],
                                         config["estimator_epochs"],
                                         nuisance=data.nuisance_test if nuisance else None, seed=config["seed"],
                                         min_steps=config["min_critic_steps"])

    def check(config) -> None:
        if config["dropout"] != "information":
            fail("probe reads the Information Dropout layers: use dropout=information.")

    def probed_run(config) -> dict:
        """One point of ``probe_sweep``, in its own process: the run of ``config`` trained (or reused) and tested,
        and its independent estimates."""
        run = train_and_test(name, config, defaults, load_data, build_network)
        return estimates(config, run.network, run.data)

    probed_point = PointFunction(module, probed_run.__name__)

    def probe(config, log_scalar: Callable[..., None] | None = None) -> dict:
        """Independent estimates on the run trained `with` the same values: linear and MLP probe errors,
        MINE bounds of I(z; task) (and nuisance), NDM, each layer's KL vs MINE; plots/<run name>/probes.json."""
        from infodropout.paper.train.runs import seed_run, train_settings

        check(config)
        network, data = load_checkpoint(name, config, defaults, load_data)  # as tested
        seed_run(train_settings(config))
        result = estimates(config, network, data)
        folder = Path(config["plots_dir"]) / run_name(name, config, defaults)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "probes.json").write_text(json.dumps(result, indent=1) + "\n")
        for key, value in result.items():
            if isinstance(value, float) and log_scalar is not None:
                log_scalar(f"probe.{key}", value)
        print(probe_table(result))
        print(f"Wrote {folder / 'probes.json'}")
        return result

    def probe_sweep(config) -> None:
        """Train (or reuse) a run for each β of ``betas`` and gather its probe estimates into
        plots/<experiment>-probe-sweep<values>/results.json, with the figures of each against β."""
        from infodropout.paper.figures.plots import plot_series

        check(config)
        results, folder = run_sweep(f"{name}-probe", config, defaults, [{"beta": b} for b in config["betas"]],
                                    probed_point)
        targets = ("task", "nuisance") if nuisance else ("task",)
        for target in targets:
            plot_series(results, "beta", {f"{mode}.{kind}_{target}_error": f"{kind} probe ({mode})"
                                          for mode in ("N", "D") for kind in ("linear", "mlp")},
                        folder / f"probe-{target}-error", "β", f"{target} probe error (%)", name,
                        chance=90.0)  # every task and nuisance here has 10 classes
        plot_series(results, "beta", {f"{mode}.mi_{target}": f"I(z; {target}) ({mode})" for target in targets
                                      for mode in ("N", "D")}, folder / "mine", "β", "MINE lower bound (nats)", name)
        for target in targets:
            plot_series(results, "beta", {f"N.ba_{target}": "Barber–Agakov (probe)", f"N.mi_{target}": "MINE",
                                          f"N.infonce_{target}": "InfoNCE"},
                        folder / f"bounds-{target}", "β", f"lower bounds of I(z; {target}) (nats)", name)
        plot_series(results, "beta", {"ndm": "NDM of the last dropout layer"}, folder / "ndm", "β", "NDM (nats)", name)
        layers = sorted({key[:-len(".kl")] for r in results for key in r if key.endswith(".kl")})
        plot_series(results, "beta", {**{f"{layer}.kl": f"{layer} KL" for layer in layers},
                                      **{f"{layer}.mine_x_z": f"{layer} MINE" for layer in layers}},
                    folder / "kl-vs-mine", "β", "nats", name)
        for result in sorted(results, key=lambda r: r["beta"]):
            print(f"β = {result['beta']}:")
            print(probe_table(result))
        print(f"Wrote {folder}/results.json and its figures.")

    return ProbeCommands(probe, probe_sweep, probed_run)
