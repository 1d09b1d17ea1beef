#!/usr/bin/env python
"""Occluded CIFAR with All-CNN-32 (paper §8, figure 4): the task is the CIFAR class, the occluding
MNIST digit is the nuisance.

    ./occluded.py train with beta=1.0
    ./occluded.py test with beta=1.0
    ./occluded.py nuisance with beta=1.0       # the nuisance probe, and the main error with noisy (N) and deterministic (D) representation

The data are datasets/occluded-cifar-{train,test}.npz, built on first use from CIFAR-10 and MNIST (both
downloaded on first use); the compositing rule is in infodropout.generate.occlude.
"""

from infodropout.experiment import (
    CIFAR_DEFAULTS, CIFAR_RULES, SOFTPLUS, add_classifier_commands, all_cnn_32_network,
    checked_load, checkpoint_path, fail, fit_options, integer_at_least, load_checkpoint, make_experiment,
    markdown_table, run_experiment, run_name, seed_run, train_settings, training_failures,
)

DEFAULTS = {**CIFAR_DEFAULTS, "probe_epochs": 20}
RULES = {**CIFAR_RULES, "probe_epochs": integer_at_least(1)}
ex = make_experiment("occluded", DEFAULTS, RULES, named_configs={"softplus": SOFTPLUS})


def load_data(config):
    from infodropout.data import load_occluded_cifar, subset

    return subset(load_occluded_cifar(config["datasets_dir"]), config["num_train"], config["num_test"])


add_classifier_commands(ex, DEFAULTS, load_data, all_cnn_32_network)


@ex.command
def nuisance(_config, _run):
    """Train the nuisance probe (infodropout.models.nuisance_probe) on the frozen, noisy representation
    of the run trained `with` the same values, and report the nuisance error and the main task's
    error with the noisy (N) and the deterministic (D) representation."""
    import dataclasses

    from infodropout.models import nuisance_probe
    from infodropout.prediction import noisy_error
    from infodropout.training import evaluate_classifier, recalibrate_batch_norm, train_nuisance_probe

    if _config["dropout"] == "none":
        fail("the nuisance task reads the noisy representation: use dropout=information or binary.")
    network = load_checkpoint("occluded", _config, DEFAULTS)
    data = checked_load(load_data, _config)
    settings = train_settings(_config)
    seed_run(settings)
    recalibrate_batch_norm(network, data.x_train, settings.batch_size)
    main_d = evaluate_classifier(network, data.x_test, data.y_test, settings.batch_size, settings.beta,
                                 settings.weight_decay, verbose=0)["error"]
    main_n = noisy_error(network, data.x_test, data.y_test, settings.batch_size)
    probe = nuisance_probe(tuple(network.get_layer("representation").output.shape[1:]))
    name = run_name("occluded", _config, DEFAULTS)
    probe_settings = dataclasses.replace(settings, epochs=_config["probe_epochs"],
                                         lr_drops=tuple(e * _config["probe_epochs"] // settings.epochs
                                                        for e in settings.lr_drops))
    checkpoint = checkpoint_path(_config["models_dir"], f"{name}.nuisance")
    with training_failures():
        stacked = train_nuisance_probe(network, probe, data.x_train, data.nuisance_train, probe_settings,
                                       checkpoint, **fit_options(_config, checkpoint))
    nuisance_error = noisy_error(stacked, data.x_test, data.nuisance_test, settings.batch_size)
    results = {"main_error_N": main_n, "main_error_D": main_d, "nuisance_error": nuisance_error}
    for key, value in results.items():
        _run.log_scalar(key, value)
    print(markdown_table(["β", "main error N %", "main error D %", "nuisance error %"],
                         [[_config["beta"], f"{main_n:.2f}", f"{main_d:.2f}", f"{nuisance_error:.2f}"]]))
    return results


if __name__ == "__main__":
    run_experiment(ex)
