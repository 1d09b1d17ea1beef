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
    CIFAR_DEFAULTS, CIFAR_RULES, SOFTPLUS, add_classifier_commands, all_cnn_32_network,
    checked_load, fail, load_checkpoint, make_experiment, run_experiment,
)

DEFAULTS = CIFAR_DEFAULTS
RULES = CIFAR_RULES
# softplus: Softplus activations with the log-normal prior, as for figures 3b and 5.
ex = make_experiment("cifar", DEFAULTS, RULES, named_configs={"softplus": SOFTPLUS})


def load_data(config):
    from infodropout.data import load_cifar10, subset

    return subset(load_cifar10(config["datasets_dir"]), config["num_train"], config["num_test"])


add_classifier_commands(ex, DEFAULTS, load_data, all_cnn_32_network)


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
