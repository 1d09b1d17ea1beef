"""The ``probe`` and ``probe_sweep`` commands of the All-CNN scripts: independent estimates of what a trained
representation holds (issue 16), from :mod:`infodropout.estimators`.

On the test images of a trained run (batch norm recalibrated, as the test protocol does), with the last
Information Dropout layer's output z taken noisy (N: every noise layer samples) and deterministic (D):

- linear and MLP probe errors (%) for the task and, where the data have one, the nuisance;
- MINE lower bounds of I(z; y) and I(z; nuisance) (nats), on z's leading principal components;
- NDM of the noisy z (nats), on a fixed random subset of its units: how far they are from independent, as
  the total correlation of figure 5 measures;
- for every Information Dropout layer, its KL (mean over images of Σ over units, deterministic inputs), which
  bounds I(x; z) from above, beside a MINE lower bound of I(f(x); z) ≤ I(x; z), z drawn with that layer's
  noise alone: the KL must not be below it.

Everything goes to ``plots/<run name>/probes.json`` and a printed table; ``probe_sweep`` gathers it per β
into ``plots/<experiment>-probe-sweep<values>/results.json`` with its figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from infodropout.paper.commands import checked_load, load_checkpoint, markdown_table, train_and_test
from infodropout.paper.errors import fail
from infodropout.paper.run_names import run_name
from infodropout.paper.sweeps import run_sweep

# Estimates are on at most this many test images (the estimators' budget: about a minute each on 2 cores).
MAX_SAMPLES = 10_000
# The critics see at most this many dimensions. On thousands of units and a few thousand images a critic
# memorises its training pairs (MINE gave −0.14 nats for a 3,072-unit z that a probe reads well, NDM −4.3 for
# independent units, and took 4 minutes), so MINE reads the leading principal components of each side (a
# function of it: I(Pz; y) ≤ I(z; y), still a lower bound) and NDM a fixed random subset of the units (the
# total correlation of a subset is at most that of all the units).
MAX_CRITIC_DIMENSIONS = 64


def principal_components(values: np.ndarray, count: int = MAX_CRITIC_DIMENSIONS) -> np.ndarray:
    """The projection of ``values`` (rows) on its ``count`` leading principal components, or ``values``
    itself where it has no more columns than that."""
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    if values.shape[1] <= count:
        return values
    centred = values - values.mean(axis=0)
    _, _, basis = np.linalg.svd(centred, full_matrices=False)
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


def representation_estimates(network, x: np.ndarray, labels: np.ndarray, batch_size: int, epochs: int,
                             nuisance: np.ndarray | None = None, seed: int = 0) -> dict:
    """The independent estimates of the module's docstring, as one flat dict (see :func:`probe_table`)."""
    from infodropout.analysis import layer_readouts
    from infodropout.estimators import mutual_information, neural_dependency, probe_error

    x, labels = x[:MAX_SAMPLES], np.asarray(labels)[:MAX_SAMPLES]
    nuisance = None if nuisance is None else np.asarray(nuisance)[:MAX_SAMPLES]
    # Batches of at most a fifth of the held-out part (30 %), so that every bound has several batches; at
    # least 4 pairs (the tiny plan probes 32 images).
    mi_batch = int(min(256, max(4, int(len(x) * 0.3) // 5)))
    probe = dict(epochs=epochs, seed=seed, batch_size=min(128, mi_batch))
    mine = dict(method="mine", epochs=epochs, seed=seed, batch_size=mi_batch)
    result: dict = {"samples": len(x), "estimator_epochs": epochs, "mi_batch_size": mi_batch}
    targets = {"task": labels} if nuisance is None else {"task": labels, "nuisance": nuisance}
    last = None
    for mode, noisy in (("N", True), ("D", False)):
        readout = layer_readouts(network, x, layer=-1, batch_size=batch_size, noisy=noisy)
        z = readout["z"].reshape(len(x), -1)
        last = z if noisy else last
        for target, values in targets.items():
            for kind in ("linear", "mlp"):
                error = probe_error(z, values, kind=kind, **probe)
                result[f"{mode}.{kind}_{target}_error"] = float(error)
            information = mutual_information(principal_components(z), _one_hot(values), **mine)
            result[f"{mode}.mi_{target}"], result[f"{mode}.mi_{target}_stderr"] = float(information), information.stderr
    ndm = neural_dependency(unit_subset(last, seed), epochs=epochs, seed=seed, batch_size=mi_batch)
    result["ndm"], result["ndm_stderr"] = float(ndm), ndm.stderr
    result["critic_dimensions"] = MAX_CRITIC_DIMENSIONS
    for name, f, z, kl in layer_pairs(network, x, batch_size):
        bound = mutual_information(principal_components(f), principal_components(z), **mine)
        result[f"{name}.kl"], result[f"{name}.mine_x_z"], result[f"{name}.mine_x_z_stderr"] = \
            kl, float(bound), bound.stderr
    return result


def probe_table(result: Mapping) -> str:
    """The estimates as a Markdown table: one row per measure, the noisy (N) and deterministic (D) columns."""
    rows = []
    for target in ("task", "nuisance"):
        if f"N.mi_{target}" not in result:
            continue
        for kind in ("linear", "mlp"):
            rows.append([f"{kind} probe error, {target} (%)"] +
                        [f"{result[f'{mode}.{kind}_{target}_error']:.2f}" for mode in ("N", "D")])
        rows.append([f"MINE I(z; {target}) (nats)"] +
                    [f"{result[f'{mode}.mi_{target}']:.3f} ± {result[f'{mode}.mi_{target}_stderr']:.3f}"
                     for mode in ("N", "D")])
    rows.append(["NDM of the last dropout layer (nats)", f"{result['ndm']:.3f} ± {result['ndm_stderr']:.3f}", "–"])
    layers = sorted(key[:-len(".kl")] for key in result if key.endswith(".kl"))
    for layer in layers:
        rows.append([f"{layer}: KL (upper bound of I(x; z)) / MINE I(f(x); z) (nats)",
                     f"{result[f'{layer}.kl']:.2f} / {result[f'{layer}.mine_x_z']:.3f}", "–"])
    return markdown_table(["measure", "N (noisy)", "D (deterministic)"], rows)


def add_probe_commands(experiment, name: str, defaults: Mapping, load_data: Callable,
                       build_network: Callable, nuisance: bool = False) -> None:
    """Register ``probe`` (one trained run) and ``probe_sweep`` (every β of ``betas``) on ``experiment``."""

    def estimates(config, network, data) -> dict:
        return representation_estimates(network, data.x_test, data.y_test, config["batch_size"],
                                         config["estimator_epochs"],
                                         nuisance=data.nuisance_test if nuisance else None, seed=config["seed"])

    def check(config) -> None:
        if config["dropout"] != "information":
            fail("probe reads the Information Dropout layers: use dropout=information.")

    def probe(_config, _run):
        """Independent estimates on the run trained `with` the same values: linear and MLP probe errors,
        MINE bounds of I(z; task) (and nuisance), NDM, each layer's KL vs MINE; plots/<run name>/probes.json."""
        from infodropout.paper.commands import seed_run, train_settings
        from infodropout.paper.training import recalibrate_batch_norm

        check(_config)
        network = load_checkpoint(name, _config, defaults)
        data = checked_load(load_data, _config)
        seed_run(train_settings(_config))
        recalibrate_batch_norm(network, data.x_train, _config["batch_size"])  # the test protocol's dry run
        result = estimates(_config, network, data)
        folder = Path(_config["plots_dir"]) / run_name(name, _config, defaults)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "probes.json").write_text(json.dumps(result, indent=1) + "\n")
        for key, value in result.items():
            if isinstance(value, float):
                _run.log_scalar(f"probe.{key}", value)
        print(probe_table(result))
        print(f"Wrote {folder / 'probes.json'}")
        return result

    def probe_sweep(_config, _run):
        """Train (or reuse) a run for each β of ``betas`` and gather its probe estimates into
        plots/<experiment>-probe-sweep<values>/results.json, with the figures of each against β."""
        from infodropout.paper.plots import plot_series

        check(_config)

        def run_one(config):
            run = train_and_test(name, config, defaults, load_data, build_network)
            return estimates(config, run.network, run.data)

        results, folder = run_sweep(f"{name}-probe", _config, defaults, [{"beta": b} for b in _config["betas"]],
                                    run_one)
        targets = ("task", "nuisance") if nuisance else ("task",)
        for target in targets:
            plot_series(results, "beta", {f"{mode}.{kind}_{target}_error": f"{kind} probe ({mode})"
                                          for mode in ("N", "D") for kind in ("linear", "mlp")},
                        folder / f"probe-{target}-error", "β", f"{target} probe error (%)", name,
                        chance=90.0)  # every task and nuisance here has 10 classes
        plot_series(results, "beta", {f"{mode}.mi_{target}": f"I(z; {target}) ({mode})" for target in targets
                                      for mode in ("N", "D")}, folder / "mine", "β", "MINE lower bound (nats)", name)
        plot_series(results, "beta", {"ndm": "NDM of the last dropout layer"}, folder / "ndm", "β", "NDM (nats)", name)
        layers = sorted({key[:-len(".kl")] for r in results for key in r if key.endswith(".kl")})
        plot_series(results, "beta", {**{f"{layer}.kl": f"{layer} KL" for layer in layers},
                                      **{f"{layer}.mine_x_z": f"{layer} MINE" for layer in layers}},
                    folder / "kl-vs-mine", "β", "nats", name)
        for result in sorted(results, key=lambda r: r["beta"]):
            print(f"β = {result['beta']}:")
            print(probe_table(result))
        print(f"Wrote {folder}/results.json and its figures.")

    experiment.command(probe)
    experiment.command(probe_sweep)
