"""Occluded CIFAR with All-CNN-32 (paper §8, figure 4): the task is the CIFAR class, the occluding
MNIST digit is the nuisance.

    ./occluded.py train with beta=1.0
    ./occluded.py test with beta=1.0
    ./occluded.py nuisance with beta=1.0       # the nuisance probe, and the main error with noisy (N) and deterministic (D) representation

The data are datasets/occluded-cifar-{train,test}.npz, built on first use from CIFAR-10 and MNIST (both
downloaded on first use); the compositing rule is in infodropout.paper.data.generate.occlude.

``dataset=fashion`` runs every command on Occluded Fashion-MNIST instead, the stand-in where CIFAR-10 is
absent: Fashion-MNIST images padded to 32×32×3, occluded by MNIST digits by the same rule (task: the
clothing class; nuisance: the digit), then preprocessed as CIFAR-10, in datasets/occluded-fashion*-*.npz.
``digits`` picks its occluders: ``mnist`` (the full MNIST), ``sample`` (the embedded 10,000 digits) or
``auto`` (the default: the full MNIST where its files are in datasets/, else the sample; name it to pin a
run to one). Its runs are named ``occluded.dataset=fashion...``.

    ./occluded.py train with dataset=fashion digits=sample beta=1.0
    ./occluded.py sweep with dataset=fashion digits=sample betas=[0.1,1.0,10.0]
"""

from __future__ import annotations

from collections.abc import Callable

from infodropout.paper.cli.experiment import CommandLine, run_experiment
from infodropout.paper.cli.probes import probe_commands
from infodropout.paper.configs.occluded import Config
from infodropout.paper.errors import fail
from infodropout.paper.train.run_names import checkpoint_path, run_name
from infodropout.paper.train.runs import (
    all_cnn_32_network, fit_options, load_checkpoint, markdown_table, seed_run, test_command, train_command,
    train_settings, training_failures,
)
from infodropout.paper.train.sweeps import PointFunction

# The module a sweep's point processes import the point functions from (this one's name also when it runs as
# __main__).
MODULE = __spec__.name if __spec__ else __name__
DEFAULTS = Config.defaults()


def load_data(config):
    from infodropout.paper.data.loaders import load_occluded_cifar
    from infodropout.paper.data.formats import subset

    if config["dataset"] == "fashion":
        from infodropout.paper.data.fashion import load_occluded_fashion

        data = load_occluded_fashion(config["datasets_dir"], digits=config["digits"])
    else:
        if config["digits"] == "sample":
            fail("digits=sample needs dataset=fashion: Occluded CIFAR is built from the full MNIST only.")
        data = load_occluded_cifar(config["datasets_dir"])
    return subset(data, config["num_train"], config["num_test"])


def train(config: Config, log_scalar: Callable | None = None) -> dict:
    """Train with the config's values, save to models/<run name>.keras, then test."""
    return train_command("occluded", config, DEFAULTS, load_data, all_cnn_32_network, log_scalar)


def test(config: Config, log_scalar: Callable | None = None) -> dict:
    """Test a trained run: the one named by the `with` values, or the one trained run they match (`runs` lists
    them)."""
    return test_command("occluded", config, DEFAULTS, load_data, log_scalar)


probe, probe_sweep, probed_run = probe_commands("occluded", MODULE, DEFAULTS, load_data, all_cnn_32_network,
                                                nuisance=True)


def nuisance_errors(config, network, data) -> dict:
    """Figure 4's numbers for a trained, tested ``network`` (batch norm recalibrated): the main task's error
    with the noisy (N) and the deterministic (D) representation, and the nuisance probe's
    (infodropout.paper.train.nuisance) test and training errors on its noisy representation, beside chance and the
    same probe on the untrained network of the same architecture and seed, in %."""
    from infodropout.paper.train.checkpoint import wait_while_locked
    from infodropout.paper.train.evaluation import evaluate_classifier
    from infodropout.paper.train.nuisance import CHANCE_ERROR, ProbeSchedule, probe_errors, random_network_errors
    from infodropout.prediction import noisy_error

    settings = train_settings(config)
    seed_run(settings)
    main_d = evaluate_classifier(network, data.x_test, data.y_test, settings.batch_size,
                                 settings.weight_decay, verbose=0)["error"]
    main_n = noisy_error(network, data.x_test, data.y_test, settings.batch_size)
    schedule = ProbeSchedule(epochs=config["probe_epochs"], batch_size=settings.batch_size, seed=settings.seed)
    # The probe's files are named by its schedule, so that a probe of another schedule is never resumed as this one.
    probe_name = f".nuisance-probe-e{schedule.epochs}-lr{schedule.learning_rate:g}"
    splits = (data.x_train, data.nuisance_train, data.x_test, data.nuisance_test)
    checkpoint = checkpoint_path(config["models_dir"], run_name("occluded", config, DEFAULTS) + probe_name)
    with training_failures():
        nuisance_error, nuisance_train_error = probe_errors(network, *splits, schedule, checkpoint,
                                                            **fit_options(config, checkpoint))
    # The untrained network is the same for every β (β does not enter the initialisation): its probe is trained
    # once per seed and reused, under the name of the run at the default β.
    random_checkpoint = checkpoint_path(config["models_dir"], run_name(
        "occluded", {**config, "beta": DEFAULTS["beta"]}, DEFAULTS) + probe_name + "-random")
    seed_run(settings)  # the initial weights of the trained run itself
    # A sweep's points of one seed may run at once (jobs=N): the first trains this probe, the others wait
    # for it and reuse it.
    with training_failures():
        random_error, random_train_error = wait_while_locked(random_checkpoint, lambda: random_network_errors(
            lambda: all_cnn_32_network(config, len(data.x_train)), *splits, schedule, random_checkpoint,
            **fit_options(config, random_checkpoint)))
    return {"main_error_N": main_n, "main_error_D": main_d, "nuisance_error": nuisance_error,
            "nuisance_train_error": nuisance_train_error, "nuisance_chance": CHANCE_ERROR,
            "nuisance_error_random": random_error, "nuisance_train_error_random": random_train_error}


def error_table(results) -> str:
    """Figure 4's errors, then the nuisance probe's with its baselines, as two Markdown tables."""
    def cell(r, key):  # rows of a sweep kept before the probe's baselines were added lack them
        return f"{r[key]:.2f}" if key in r else "–"

    errors = markdown_table(["β", "seed", "main error N %", "main error D %", "nuisance error %"],
                            [[r["beta"], r.get("seed", 0), cell(r, "main_error_N"), cell(r, "main_error_D"),
                              cell(r, "nuisance_error")] for r in results])
    baselines = markdown_table(["β", "seed", "nuisance probe's training error %",
                                "nuisance error, untrained network %", "nuisance error by chance %"],
                               [[r["beta"], r.get("seed", 0), cell(r, "nuisance_train_error"),
                                 cell(r, "nuisance_error_random"), cell(r, "nuisance_chance")] for r in results])
    return f"{errors}\n\n{baselines}"


def nuisance(config: Config, log_scalar: Callable | None = None) -> dict:
    """The nuisance probe of the run trained `with` the same values, and the main errors N and D."""
    if config["dropout"] == "none":
        fail("the nuisance task reads the noisy representation: use dropout=information or binary.")
    network, data = load_checkpoint("occluded", config, DEFAULTS, load_data)  # as tested
    results = nuisance_errors(config, network, data)
    for key, value in results.items() if log_scalar is not None else ():
        log_scalar(key, value)
    print(error_table([{"beta": config["beta"], "seed": config["seed"], **results}]))
    return results


def nuisance_run(config) -> dict:
    """One point of ``sweep``, in its own process: the run of ``config`` trained (or reused) and tested, figure 4's
    errors (:func:`nuisance_errors`) and the main task's training error."""
    from infodropout.paper.train.runs import train_and_test

    run = train_and_test("occluded", config, DEFAULTS, load_data, all_cnn_32_network)
    # The main task's training error, deterministic as main_error_D (at most 10,000 training images).
    return {**nuisance_errors(config, run.network, run.data), "main_train_error_D": run.train_error}


NUISANCE_RUN = PointFunction(MODULE, nuisance_run.__name__)


def sweep(config: Config) -> None:
    """Figure 4: train (or reuse) a run and its nuisance probe for each β of ``betas``, then plot the
    main error (N and D) and the nuisance error against β into plots/occluded-sweep<values>/."""
    from infodropout.paper.train.sweeps import run_sweep, with_seeds
    from infodropout.paper.figures.plots import plot_series

    if config["dropout"] == "none":
        fail("the nuisance task reads the noisy representation: use dropout=information or binary.")

    points = with_seeds([{"beta": b} for b in config["betas"]], config["seeds"])
    results, folder = run_sweep("occluded", config, DEFAULTS, points, NUISANCE_RUN)
    # Both tasks have 10 classes (chance: 90 % error); the nuisance, near chance, gets its own panel so
    # that one axis from 20 % to 90 % does not flatten it.
    plot_series(results, "beta", {"main_error_N": "main task (N)", "main_error_D": "main task (D)",
                                  "nuisance_error": "nuisance (digit)",
                                  "nuisance_train_error": "nuisance, probe's training set",
                                  "nuisance_error_random": "nuisance, untrained network"}, folder / "figure4", "β",
                "test error (%)", "Occluded Fashion-MNIST" if config["dataset"] == "fashion" else "Occluded CIFAR",
                chance=90.0, panels=[["main_error_N", "main_error_D"],
                                     ["nuisance_error", "nuisance_train_error", "nuisance_error_random"]])
    print(error_table(sorted(results, key=lambda r: (r["beta"], r.get("seed", 0)))))
    print(f"Wrote {folder}/results.json and figure4.png/.pdf.")


# The commands, in the order --help lists them; the first, train, is the default.
COMMANDS = (train, test, probe, probe_sweep, nuisance, sweep)
# What the command line (sacred's, made when main runs) is made from.
COMMAND_LINE = CommandLine("occluded", __doc__, __file__, Config, COMMANDS)


def main() -> None:
    """The command line, as ``./occluded.py COMMAND with KEY=VALUE ...`` or
    ``python -m infodropout.paper.experiments.occluded COMMAND with KEY=VALUE ...``."""
    run_experiment(COMMAND_LINE)


if __name__ == "__main__":
    main()
