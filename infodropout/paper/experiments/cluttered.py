"""Cluttered MNIST with All-CNN-96 (paper §8; figures 2 and 7).

    ./cluttered.py train with beta=0.5
    ./cluttered.py test with beta=0.5
    ./cluttered.py plot with beta=0.5                  # heatmaps into plots/<run name>/, localisation score
    ./cluttered.py train with digits=sample epochs=20 lr_drops=[8,15] learning_rate=0.05 filter_percentage=0.125 beta=0.0016   # offline: about 23.5 % test error (chance 90 %)

The data are datasets/cluttered-{train,test}.npz, generated on first use from the full MNIST
(downloaded on first use), or from the embedded MNIST sample with ``digits=sample`` (files named
``-sample``, so that they never pass for the real data set); the authors' archive is read as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from infodropout.paper.cli.experiment import CommandLine, run_experiment
from infodropout.paper.cli.probes import probe_commands
from infodropout.paper.configs.cluttered import Config
from infodropout.paper.errors import fail
from infodropout.paper.train.run_names import run_name
from infodropout.paper.train.runs import all_cnn_network, load_checkpoint, test_command, train_command
from infodropout.paper.train.sweeps import PointFunction

# The module a sweep's point processes import the point functions from (this one's name also when it runs as
# __main__).
MODULE = __spec__.name if __spec__ else __name__
DEFAULTS = Config.defaults()


def load_data(config):
    from infodropout.paper.data.loaders import load_cluttered

    return load_cluttered(config["datasets_dir"], config["num_train"], config["num_test"], source=config["digits"])


def build_network(config, n_train):
    from infodropout.models import all_cnn_96

    return all_cnn_network(all_cnn_96, config, n_train)


def train(config: Config, log_scalar: Callable | None = None) -> dict:
    """Train with the config's values, save to models/<run name>.keras, then test."""
    return train_command("cluttered", config, DEFAULTS, load_data, build_network, log_scalar)


def test(config: Config, log_scalar: Callable | None = None) -> dict:
    """Test a trained run: the one named by the `with` values, or the one trained run they match (`runs` lists
    them)."""
    return test_command("cluttered", config, DEFAULTS, load_data, log_scalar)


probe, probe_sweep, probed_run = probe_commands("cluttered", MODULE, DEFAULTS, load_data, build_network)


def localisation(network, data, batch_size):
    """The KL heatmaps of every dropout layer over the test set, their layer names, and each layer's
    localisation score beside the same score of the test images' own ink at the layer's resolution
    (``mass_inside``/``max_inside`` and ``mass_inside_ink``/``max_inside_ink``) and of that ink summed
    over each cell's receptive field (``..._field_ink``), all without the cells that the convolutions'
    zero padding reaches (None without digit boxes)."""
    from infodropout.localisation import field_ink_maps, kl_heatmaps, localisation_with_baseline, padded_border
    from infodropout.layers import information_dropout_layers

    maps = kl_heatmaps(network, data.x_test, batch_size=batch_size)
    layers = [layer.name for layer in information_dropout_layers(network)]
    if data.boxes_test is None:
        return maps, layers, None
    return maps, layers, [localisation_with_baseline(m, data.x_test, data.boxes_test, border, field)
                          for m, border, field in zip(maps, padded_border(network),
                                                      field_ink_maps(data.x_test, network))]


def plot(config: Config, log_scalar: Callable | None = None):
    """KL heatmaps of the first ``plot_images`` test images (figures 2 and 7) into plots/<run name>/,
    and the localisation score of every dropout layer over the test set."""
    from pathlib import Path

    from infodropout.paper.train.runs import markdown_table
    from infodropout.paper.figures.plots import plot_kl_heatmaps

    if config["dropout"] != "information":
        fail("plot draws the KL of Information Dropout layers: use dropout=information.")
    # As tested (batch norm recalibrated), as `test` and `sweep` read it: the prediction shown is the one the
    # test error counts, and the maps and scores are those of the network `sweep` scores.
    network, data = load_checkpoint("cluttered", config, DEFAULTS, load_data)
    name = run_name("cluttered", config, DEFAULTS)
    import keras
    import numpy as np

    from infodropout.localisation import kl_heatmaps

    maps, layers, scores = localisation(network, data, config["batch_size"])
    count = config["plot_images"]
    shown = data.x_test[:count]
    labels = data.y_test[:count]
    labels = labels.argmax(axis=-1) if labels.ndim > 1 else labels  # the authors' archives are one-hot
    predictions = keras.ops.convert_to_numpy(network(shown, training=False)).argmax(axis=-1)  # noise off
    # A blank canvas has no content: whatever its maps show is the zero padding of the SAME convolutions
    # (stride 2 pads one row and column after the input, none before, hence the bottom/right bands).
    blank_maps = kl_heatmaps(network, np.zeros_like(data.x_test[:1]))
    caption = ("KL per position (each map minus its minimum); cyan: the target digit's box; beside each row the "
               "true digit and the network's prediction (as tested: dry run, noise off; red: wrong). The last row is "
               "a blank canvas: what it shows is the zero padding of the SAME convolutions alone, edge bands strongest "
               "on the bottom and right (stride 2 pads after the input only); read the same bands above as "
               "padding, not signal.")
    files = plot_kl_heatmaps(shown, [m[:count] for m in maps], layers, Path(config["plots_dir"]) / name,
                             title=f"Cluttered MNIST, β = {config['beta']:g}: KL divergence per position",
                             boxes=None if data.boxes_test is None else data.boxes_test[:count],
                             blank_maps=blank_maps, caption=caption, labels=labels, predictions=predictions)
    print(f"Wrote {len(files)} files to {Path(config['plots_dir']) / name}")
    if scores is None:
        print("The data have no digit boxes (the authors' archive): no localisation score.")
        return None
    for layer, score in zip(layers, scores):
        for key, value in score.items() if log_scalar is not None else ():
            log_scalar(f"{layer}.{key}", value)
    print(f"Localisation over {len(data.x_test)} test images:")
    print("(the cells that the convolutions' zero padding reaches left out; the baselines: ink, the same score of "
          "the images' own ink at the map's resolution; field ink, of the ink over each cell's receptive field)")
    print(markdown_table(["layer", "map", "KL mass inside the digit's box", "ink's", "field ink's",
                          "KL peak inside the box", "ink's", "field ink's"],
                         [[layer, f"{m.shape[1]}×{m.shape[2]}",
                           *(f"{score[f'{kind}{baseline}']:.3f}" for kind in ("mass_inside", "max_inside")
                             for baseline in ("", "_ink", "_field_ink"))]
                          for layer, m, score in zip(layers, maps, scores)]))


def localised_run(config) -> dict:
    """One point of ``sweep``, in its own process: the run of ``config`` trained (or reused) and tested, its test
    and training errors and each layer's localisation score beside its ink baseline."""
    from infodropout.paper.train.runs import train_and_test

    run = train_and_test("cluttered", config, DEFAULTS, load_data, build_network)
    _, layers, scores = localisation(run.network, run.data, config["batch_size"])
    result = {"error": run.metrics["error"], "train_error": run.train_error}
    for layer, score in zip(layers, scores or []):
        result.update({f"{layer}.{key}": value for key, value in score.items()})
    return result


LOCALISED_RUN = PointFunction(MODULE, localised_run.__name__)


def sweep(config: Config) -> None:
    """Train (or reuse) a run for each β of ``betas``, then plot its test error and every layer's
    localisation score against β into plots/cluttered-sweep<values>/. results.json holds the numbers:
    per run the test error, the training error (the test protocol on at most 10,000 training images) and
    each layer's localisation score beside its ink baseline."""
    from infodropout.paper.train.sweeps import run_sweep, with_seeds
    from infodropout.paper.figures.plots import plot_series

    if config["dropout"] != "information":
        fail("sweep scores the KL of Information Dropout layers: use dropout=information.")

    points = with_seeds([{"beta": b} for b in config["betas"]], config["seeds"])
    results, folder = run_sweep("cluttered", config, DEFAULTS, points, LOCALISED_RUN)
    layers = sorted({key.split(".")[0] for r in results for key in r if key.endswith(".mass_inside")})
    title = "Cluttered MNIST: localisation vs β (ink: the baseline)"

    def beside_ink(score):  # each layer's KL score and its ink baseline
        return {key: label for layer in layers
                for key, label in ((f"{layer}.{score}", layer), (f"{layer}.{score}_ink", f"{layer}, ink"))}

    plot_series(results, "beta", beside_ink("mass_inside"), folder / "localisation_mass",
                "β", "KL mass inside the digit's box", title)
    plot_series(results, "beta", beside_ink("max_inside"), folder / "localisation_peak",
                "β", "share of maps peaking inside the box", title)
    plot_series(results, "beta", {"error": "test error"}, folder / "error", "β", "test error (%)", "Cluttered MNIST",
                chance=90.0)
    print(f"Wrote {folder}/results.json and its figures.")


# The commands, in the order --help lists them; the first, train, is the default.
COMMANDS = (train, test, probe, probe_sweep, plot, sweep)
# What the command line (sacred's, made when main runs) is made from.
COMMAND_LINE = CommandLine("cluttered", __doc__, __file__, Config, COMMANDS)


def main() -> None:
    """The command line, as ``./cluttered.py COMMAND with KEY=VALUE ...`` or
    ``python -m infodropout.paper.experiments.cluttered COMMAND with KEY=VALUE ...``."""
    run_experiment(COMMAND_LINE)


if __name__ == "__main__":
    main()
