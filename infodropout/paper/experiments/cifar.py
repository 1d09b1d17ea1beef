"""CIFAR-10 with All-CNN-32 (paper §8; figures 1, 3b, 5 and 6).

    ./cifar.py train with dropout=information beta=3.0 filter_percentage=0.25
    ./cifar.py test with dropout=information beta=3.0 filter_percentage=0.25
    ./cifar.py train with softplus filter_percentage=0.25 beta=1.0
    ./cifar.py correlation with softplus filter_percentage=0.25 beta=1.0
    ./cifar.py train with softplus dataset=sample sample_test=4000 num_train=5000 epochs=10 lr_drops=[4,6,8] beta=0.3 filter_percentage=0.25   # offline: about 8 % test error (chance 90 %)
    ./cifar.py print_config

The data are datasets/cifar10-{train,test}.npz, written by ./process_cifar.py (or the authors' archive).
``dataset=sample`` runs the same experiment on a stand-in where CIFAR-10 is absent: the embedded MNIST
digits padded to 32×32×3 (its last ``sample_test`` digits as the test set); its numbers are not CIFAR-10's.
``dataset=fashion`` is the full-size stand-in: Fashion-MNIST (60,000 + 10,000 images) padded to 32×32×3 and
preprocessed as CIFAR-10 is, cached as datasets/fashion-cifar-{train,test}.npz (a run on at most 10,000
training images whitens only its own, keeping the whitening in datasets/fashion-cifar-zca.npz); its runs are named
``cifar.dataset=fashion...`` and its numbers are Fashion-MNIST's, not CIFAR-10's.
"""

from __future__ import annotations

from collections.abc import Callable

from infodropout.paper.cli.experiment import CommandLine, run_experiment
from infodropout.paper.cli.probes import probe_commands
from infodropout.paper.configs.cifar import Config
from infodropout.paper.configs.rules import word_list
from infodropout.paper.errors import fail
from infodropout.paper.train.run_names import run_name
from infodropout.paper.train.runs import (
    all_cnn_32_network, load_checkpoint, test_command, train_command, train_settings,
)
from infodropout.paper.train.sweeps import PointFunction

# The module a sweep's point processes import the point functions from (this one's name also when it runs as
# __main__).
MODULE = __spec__.name if __spec__ else __name__
DEFAULTS = Config.defaults()


def load_data(config):
    from infodropout.paper.data.loaders import load_cifar10
    from infodropout.paper.data.formats import load_mnist_sample, subset
    from infodropout.paper.data.preprocessing import mnist_as_cifar_shape

    if config["dataset"] == "sample":
        data = mnist_as_cifar_shape(load_mnist_sample(num_test=config["sample_test"]))
    elif config["dataset"] == "fashion":
        from infodropout.paper.data.fashion import load_fashion_cifar

        # Cut by the loader itself: a small run then whitens only its own images.
        data = load_fashion_cifar(config["datasets_dir"], num_train=config["num_train"], num_test=config["num_test"])
    else:
        data = load_cifar10(config["datasets_dir"])
    return subset(data, config["num_train"], config["num_test"])


def train(config: Config, log_scalar: Callable | None = None) -> dict:
    """Train with the config's values, save to models/<run name>.keras, then test."""
    return train_command("cifar", config, DEFAULTS, load_data, all_cnn_32_network, log_scalar)


def test(config: Config, log_scalar: Callable | None = None) -> dict:
    """Test a trained run: the one named by the `with` values, or the one trained run they match (`runs` lists
    them)."""
    return test_command("cifar", config, DEFAULTS, load_data, log_scalar)


probe, probe_sweep, probed_run = probe_commands("cifar", MODULE, DEFAULTS, load_data, all_cnn_32_network)


def correlation(config: Config, log_scalar: Callable | None = None) -> float:
    """Total correlation (per unit) of the log of the noisy activations of the last dropout layer
    on the test set (SPEC §7; the paper's figure 5 uses Softplus)."""
    if config["dropout"] != "information":
        fail("correlation reads the last Information Dropout layer: use dropout=information.")
    network, data = load_checkpoint("cifar", config, DEFAULTS, load_data)
    try:
        tc = last_layer_total_correlation(network, data.x_test, config["batch_size"])
    except ValueError as error:
        fail(f"{error} Use more test images (num_test) or fewer filters.", status=1)
    for key, value in tc.items() if log_scalar is not None else ():
        log_scalar(key, value)
    print(f"Total correlation: {tc['total_correlation']:.6f} nats per unit, bias-corrected "
          f"(raw {tc['total_correlation_raw']:.6f} minus the estimator's bias {tc['total_correlation_bias']:.6f} "
          f"for independent Gaussian units at this many samples and units)")
    return tc['total_correlation']


def histograms(config: Config) -> None:
    """Figure 1: the histogram of the log of the last dropout layer's noisy activations on the test set
    against the proposed prior (log-uniform for ReLU, the learned log-normal for Softplus), into
    plots/<run name>/histogram.png and .pdf, with its summary (log z's mean and spread, the share of
    zeros, the prior's parameters), log z's shape against the prior (KS distances, skew, excess kurtosis)
    and the network's training-set error in histogram.json; beside them, the same shape of the noise-free log f(x)
    (``f_``-prefixed keys) and the share of log z's variance that is the layer's injected noise."""
    from pathlib import Path

    import json

    from infodropout.log_activations import log_activation_shape, log_activation_summary
    from infodropout.readouts import layer_readouts
    from infodropout.layers import information_dropout_layers
    from infodropout.noise_share import noise_free_log_activations, noise_variance_share
    from infodropout.paper.figures.plots import plot_activation_histogram

    if config["dropout"] != "information":
        fail("histograms reads the last Information Dropout layer: use dropout=information.")
    network, data = load_checkpoint("cifar", config, DEFAULTS, load_data)
    layer = information_dropout_layers(network)[-1]
    readout = layer_readouts(network, data.x_test, layer=layer, batch_size=config["batch_size"], noisy=True)
    log_z = readout["log_z"]
    name = run_name("cifar", config, DEFAULTS)
    prior = {"prior_mean": float(layer.prior_mean.numpy()), "prior_std": float(layer.prior_std.numpy())} \
        if layer.prior == "log_normal" else {}
    folder = Path(config["plots_dir"]) / name
    files = plot_activation_histogram(log_z, layer.prior, folder / "histogram", title=f"{name}: {layer.name}",
                                      **prior)
    from infodropout.paper.train.evaluation import training_error

    # Whether the network fits its training data: figure 1's claims are tested only on one that learned. The
    # network was read as tested (batch norm recalibrated), so this is the test protocol's training error.
    train_error = training_error(network, data.x_train, data.y_train, train_settings(config))
    # Whether the shape is the network's or the noise's: the same statistics on log f(x) with every noise off.
    log_f = noise_free_log_activations(network, data.x_test, layer=layer, batch_size=config["batch_size"])
    noise_free = {f"f_{key}": value for key, value in log_activation_shape(log_f).items()}
    summary = {"layer": layer.name, "prior": layer.prior, **prior, **log_activation_summary(log_z),
               **log_activation_shape(log_z), **noise_free, "noise_variance_share": noise_variance_share(readout),
               "train_error": train_error}
    (folder / "histogram.json").write_text(json.dumps(summary, indent=1) + "\n")
    print("Wrote " + ", ".join(str(f) for f in files) + f" and {folder / 'histogram.json'}")
    print(", ".join(f"{key} {value:.3f}" for key, value in summary.items() if isinstance(value, float)))


def last_layer_total_correlation(network, x, batch_size) -> dict[str, float]:
    """TC per unit of the log of the last dropout layer's noisy activations on ``x`` (SPEC §7):
    ``total_correlation`` bias-corrected, ``total_correlation_raw`` the plug-in value and
    ``total_correlation_bias`` their difference, the closed-form excess of the plug-in estimate at
    this number of samples and units (so a reader sees how much of the raw value is bias). Beside them, whether a
    fall with β is the network's or the noise's (independent across units by construction): ``total_correlation_f``,
    the same bias-corrected TC of the noise-free log f(x), and ``noise_variance_share``, the share of log z's
    variance that is the layer's injected noise."""
    import numpy as np

    from infodropout.readouts import layer_readouts
    from infodropout.total_correlation import total_correlation, total_correlation_bias
    from infodropout.noise_share import noise_free_log_activations, noise_variance_share

    readout = layer_readouts(network, x, layer=-1, batch_size=batch_size, noisy=True)
    log_z = readout["log_z"]
    units = int(np.prod(log_z.shape[1:]))
    corrected = total_correlation(log_z)
    return {"total_correlation": corrected, "total_correlation_raw": total_correlation(log_z, bias_corrected=False),
            "total_correlation_bias": total_correlation_bias(len(log_z), units),
            "total_correlation_f": total_correlation(noise_free_log_activations(network, x, -1, batch_size)),
            "noise_variance_share": noise_variance_share(readout)}


def sweep_result(config, run) -> dict:
    """The test error of a trained run, its training error (the same protocol on at most 10,000 training
    images) and, for Information Dropout, the KL through each dropout layer and, with Softplus, the total
    correlation of the last one."""
    from infodropout.readouts import information_per_layer

    result = {"error": run.metrics["error"], "train_error": run.train_error}
    if config["dropout"] == "information":
        for layer, information in information_per_layer(run.network, run.data.x_test, config["batch_size"]).items():
            result.update({f"{layer}.{key}": value for key, value in information.items()})
        if config["activations"] == "softplus":
            try:
                result.update(last_layer_total_correlation(run.network, run.data.x_test, config["batch_size"]))
            except ValueError as error:  # fewer test images than units: no full-rank covariance
                print(f"No total correlation: {error}")
                result["total_correlation"] = None
    return result


def measured_run(config) -> dict:
    """One point of ``sweep``, in its own process: the run of ``config`` trained (or reused), tested and measured
    (:func:`sweep_result`)."""
    from infodropout.paper.train.runs import train_and_test

    return sweep_result(config, train_and_test("cifar", config, DEFAULTS, load_data, all_cnn_32_network))


MEASURED_RUN = PointFunction(MODULE, measured_run.__name__)


def sweep(config: Config) -> None:
    """``sweep_over=beta``: figure 5, the test error and total correlation against each β of ``betas``.
    ``sweep_over=filter_percentage``: figures 3b and 6, the test error of each method of ``methods`` and
    the information through each dropout layer against each share of ``filter_percentages``. Runs are
    trained or reused; results.json and the figures go to plots/cifar-sweep<values>/."""
    from infodropout.paper.train.sweeps import run_sweep, with_seeds
    from infodropout.paper.figures.plots import plot_error_by_method, plot_series

    if config["sweep_over"] == "beta":
        points = [{"beta": b} for b in config["betas"]]
    else:
        points = [{"filter_percentage": f, "dropout": m} for f in config["filter_percentages"]
                  for m in word_list(config["methods"])]
    results, folder = run_sweep("cifar", config, DEFAULTS, with_seeds(points, config["seeds"]), MEASURED_RUN)
    if config["sweep_over"] == "beta":
        plot_series(results, "beta", {"error": "test error"}, folder / "figure5-error", "β", "test error (%)",
                    chance=90.0)
        plot_series(results, "beta", {"total_correlation": "bias-corrected",
                                      "total_correlation_raw": "raw (plug-in)",
                                      "total_correlation_bias": "bias of the raw estimate"},
                    folder / "figure5-tc", "β", "total correlation per unit (nats)")
    else:
        plot_error_by_method(results, "filter_percentage", folder / "figure3b", word_list(config["methods"]),
                             "share of the filters", chance=90.0)
        information = [r for r in results if r["dropout"] == "information"]
        layers = sorted({key.rsplit(".", 1)[0] for r in information for key in r if key.endswith(".total")})
        for measure, label in (("total", "total KL (nats)"), ("per_unit", "KL per unit (nats)")):
            plot_series(information, "filter_percentage", {f"{layer}.{measure}": layer for layer in layers},
                        folder / f"figure6-{measure}", "share of the filters", label)
    print(f"Wrote {folder}/results.json and its figures.")


# The commands, in the order --help lists them; the first, train, is the default.
COMMANDS = (train, test, probe, probe_sweep, correlation, histograms, sweep)
# What the command line (sacred's, made when main runs) is made from.
COMMAND_LINE = CommandLine("cifar", __doc__, __file__, Config, COMMANDS)


def main() -> None:
    """The command line, as ``./cifar.py COMMAND with KEY=VALUE ...`` or
    ``python -m infodropout.paper.experiments.cifar COMMAND with KEY=VALUE ...``."""
    run_experiment(COMMAND_LINE)


if __name__ == "__main__":
    main()
