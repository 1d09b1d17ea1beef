#!/usr/bin/env python
"""Cluttered MNIST with All-CNN-96 (paper §8; figures 2 and 7).

    ./cluttered.py train with beta=0.5
    ./cluttered.py test with beta=0.5
    ./cluttered.py plot with beta=0.5                  # heatmaps into plots/<run name>/, localisation score
    ./cluttered.py train with digits=sample num_train=2000 num_test=500 epochs=5 filter_percentage=0.25

The data are datasets/cluttered-{train,test}.npz, generated on first use from the full MNIST
(downloaded on first use), or from the embedded MNIST sample with ``digits=sample`` (files named
``-sample``, so that they never pass for the real data set); the authors' archive is read as it is.
"""

from infodropout.experiment import (
    ALL_CNN_RULES, COMMON_RULES, SOFTPLUS, Rule, add_classifier_commands, all_cnn_defaults, all_cnn_network,
    checked_load, fail, integer_at_least, load_checkpoint, make_experiment, one_of, run_experiment, run_name,
)

DEFAULTS = dict(
    **all_cnn_defaults(batch_size=128, learning_rate=0.01, lr_drops=[30, 60], epochs=80, beta=0.5,
                       weight_decay=0.0, max_alpha=1.0),
    digits="mnist",
    plot_images=5,
    plots_dir="plots",
)
RULES = {
    **COMMON_RULES,
    **ALL_CNN_RULES,
    "digits": one_of("mnist", "sample"),
    "plot_images": integer_at_least(1),
    "plots_dir": Rule("a folder path", lambda v: isinstance(v, str) and v != ""),
}
ex = make_experiment("cluttered", DEFAULTS, RULES, named_configs={"softplus": SOFTPLUS})


def load_data(config):
    from infodropout.data import load_cluttered

    return load_cluttered(config["datasets_dir"], config["num_train"], config["num_test"], source=config["digits"])


def build_network(config, n_train):
    from infodropout.models import all_cnn_96

    return all_cnn_network(all_cnn_96, config, n_train)


add_classifier_commands(ex, DEFAULTS, load_data, build_network)


@ex.command
def plot(_config, _run):
    """KL heatmaps of the first ``plot_images`` test images (figures 2 and 7) into plots/<run name>/,
    and the localisation score of every dropout layer over the test set."""
    from pathlib import Path

    from infodropout.analysis import kl_heatmaps, localisation_score
    from infodropout.experiment import markdown_table
    from infodropout.layers import information_dropout_layers
    from infodropout.plots import plot_kl_heatmaps

    if _config["dropout"] != "information":
        fail("plot draws the KL of Information Dropout layers: use dropout=information.")
    network = load_checkpoint("cluttered", _config, DEFAULTS)
    data = checked_load(load_data, _config)
    name = run_name("cluttered", _config, DEFAULTS)
    maps = kl_heatmaps(network, data.x_test, batch_size=_config["batch_size"])
    layers = [layer.name for layer in information_dropout_layers(network)]
    count = _config["plot_images"]
    files = plot_kl_heatmaps(data.x_test[:count], [m[:count] for m in maps], layers,
                             Path(_config["plots_dir"]) / name, title=f"{name}: KL per position")
    print(f"Wrote {len(files)} files to {Path(_config['plots_dir']) / name}")
    if data.boxes_test is None:
        print("The data have no digit boxes (the authors' archive): no localisation score.")
        return None
    rows = []
    for layer, layer_maps in zip(layers, maps):
        score = localisation_score(layer_maps, data.boxes_test, data.x_test.shape[1:3])
        for key, value in score.items():
            _run.log_scalar(f"{layer}.{key}", value)
        rows.append([layer, f"{layer_maps.shape[1]}×{layer_maps.shape[2]}", f"{score['mass_inside']:.3f}",
                     f"{score['max_inside']:.3f}"])
    print(f"Localisation over {len(data.x_test)} test images:")
    print(markdown_table(["layer", "map", "KL mass inside the digit's box", "peak inside the box"], rows))


if __name__ == "__main__":
    run_experiment(ex)
