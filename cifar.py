#!/usr/bin/env python
"""CIFAR-10 with All-CNN-32 (paper §8; figures 1, 3b, 5 and 6).

    ./cifar.py train with dropout=information beta=3.0 filter_percentage=0.25
    ./cifar.py test with dropout=information beta=3.0 filter_percentage=0.25
    ./cifar.py train with softplus filter_percentage=0.25 beta=1.0
    ./cifar.py correlation with softplus filter_percentage=0.25 beta=1.0
    ./cifar.py print_config

The data are datasets/cifar10-{train,test}.npz, written by ./process_cifar.py (or the authors' archive).
"""

from infodropout.experiment import (
    ALL_CNN_RULES, COMMON_RULES, PROBABILITY, add_classifier_commands, all_cnn_network, checked_load, fail,
    load_checkpoint, make_experiment, run_experiment, training_defaults,
)

DEFAULTS = dict(
    dropout="information",
    activations="relu",
    prior="log_uniform",
    filter_percentage=1.0,
    input_keep_prob=0.8,
    **training_defaults(batch_size=100, learning_rate=0.05, lr_drops=[80, 120, 160], epochs=200, beta=3.0,
                        weight_decay=0.001, max_alpha=0.7),
)
RULES = {**COMMON_RULES, **ALL_CNN_RULES, "input_keep_prob": PROBABILITY}
ex = make_experiment("cifar", DEFAULTS, RULES)


@ex.named_config
def softplus():
    # Softplus activations with the log-normal prior (Prop. 3), as for figures 3b and 5.
    activations = "softplus"  # noqa: F841
    prior = "log_normal"  # noqa: F841


def load_data(config):
    from infodropout.data import load_cifar10, subset

    return subset(load_cifar10(config["datasets_dir"]), config["num_train"], config["num_test"])


def build_network(config, n_train):
    from infodropout.models import all_cnn_32

    return all_cnn_network(all_cnn_32, config, n_train, input_keep_prob=config["input_keep_prob"])


add_classifier_commands(ex, DEFAULTS, load_data, build_network)


@ex.command
def correlation(_config, _run):
    """Total correlation (per unit) of the log of the noisy activations of the last dropout layer
    on the test set (SPEC §7; the paper's figure 5 uses Softplus)."""
    from infodropout.analysis import layer_readouts, total_correlation

    if _config["dropout"] != "information":
        fail("correlation reads the last Information Dropout layer: use dropout=information.")
    network = load_checkpoint("cifar", _config, DEFAULTS)
    data = checked_load(load_data, _config)
    readout = layer_readouts(network, data.x_test, layer=-1, batch_size=_config["batch_size"], noisy=True)
    tc = total_correlation(readout["log_z"])
    _run.log_scalar("total_correlation", tc)
    print(f"Total correlation: {tc:.6f}")
    return tc


if __name__ == "__main__":
    run_experiment(ex)
