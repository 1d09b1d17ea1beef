"""MNIST with a fully connected network of 3 hidden ReLU layers (paper §8, figure 3a).

    ./mnist_fc.py train with dropout=information width=256
    ./mnist_fc.py test with dropout=information width=256
    ./mnist_fc.py compare with widths=[64,256] methods=[information,binary]    # figure 3a (also: sweep)
    ./mnist_fc.py choose_lr with widths=[32,128] validation=1000 learning_rates=[0.07,0.02,0.01]
    ./mnist_fc.py print_config

The full MNIST is downloaded into datasets/ on first use; ``dataset=sample`` uses instead the 10,000 real
MNIST digits shipped in infodropout/resources/, the last ``sample_test`` of them as the test set.
``dataset=fashion`` trains on Fashion-MNIST instead (28×28 in [0, 1], as MNIST; read from
datasets/fashion-mnist/, $INFODROPOUT_FASHION_URL, Debian's dataset-fashion-mnist or a download); its runs are named apart.
``validation=N`` holds out the last N training images (never test images): the run trains on the rest and
reports its error on them too. ``choose_lr`` trains every method of ``methods`` at every width of ``widths``
at each of ``learning_rates`` on such a split (seed ``seed``), chooses for each the rate with the lowest
validation error, then trains it at that rate on the whole training set for each of ``seeds`` and tests it, as
``compare`` does.
"""

from __future__ import annotations

from collections.abc import Callable

from infodropout.models import DENSE_DROPOUTS
from infodropout.paper.cli.experiment import CommandLine, run_experiment
from infodropout.paper.configs.mnist_fc import Config
from infodropout.paper.configs.rules import word_list
from infodropout.paper.train.runs import (
    import_tensorflow_quietly, load_mnist_data, markdown_table, test_command, train_and_test, train_command,
)
from infodropout.paper.train.sweeps import PointFunction

# The module a sweep's point processes import the point functions from (this one's name also when it runs as
# __main__).
MODULE = __spec__.name if __spec__ else __name__
METHODS = DENSE_DROPOUTS
DEAD_UNIT_PROBE = 1000  # training images on which a dead unit's ReLU output is 0
DEAD_LIMIT = 0.1  # a larger share of dead units in a layer flags a run as an optimisation failure
DEFAULTS = Config.defaults()


def build_network(config, n_train):
    from infodropout.models import fully_connected

    return fully_connected(config["width"], dropout=config["dropout"], max_alpha=config["max_alpha"],
                           kl_weight=config["beta"] / n_train, keep_prob=config["keep_prob"], fused=config["fused"])


def load_data(config):
    """MNIST (see load_mnist_data) less the ``validation`` training images held out."""
    import_tensorflow_quietly()  # the split's module imports Keras
    from infodropout.paper.train.early_stopping import validation_split

    return validation_split(load_mnist_data(config), config["validation"])[0]


def validation_data(config):
    import_tensorflow_quietly()  # the split's module imports Keras
    from infodropout.paper.train.early_stopping import validation_split

    return validation_split(load_mnist_data(config), config["validation"])[1]


def train(config: Config, log_scalar: Callable | None = None) -> dict:
    """Train with the config's values, save to models/<run name>.keras, then test."""
    return train_command("mnist_fc", config, DEFAULTS, load_data, build_network, log_scalar)


def test(config: Config, log_scalar: Callable | None = None) -> dict:
    """Test a trained run: the one named by the `with` values, or the one trained run they match (`runs` lists
    them)."""
    return test_command("mnist_fc", config, DEFAULTS, load_data, log_scalar)


def train_test_and_probe(config) -> dict:
    """Train and test one run; its test error, its training error (the test protocol on at most 10,000
    training images), its validation error (with ``validation``), its share of dead units per layer
    (ReLU 0 on every probe image: an optimisation failure, not a regularisation effect) and, with Information
    Dropout, each layer's mean α on the same images, noise off."""
    from infodropout.readouts import dead_unit_fractions
    from infodropout.paper.errors import fail
    from infodropout.paper.train.evaluation import evaluate_classifier

    try:
        run = train_and_test("mnist_fc", config, DEFAULTS, load_data, build_network)
    except ValueError as error:  # a validation split that leaves nothing to train on
        fail(str(error))
    dead = dead_unit_fractions(run.network, run.data.x_train[:DEAD_UNIT_PROBE], config["batch_size"])
    result = {"error": run.metrics["error"], "train_error": run.train_error,
              **{f"{layer}.dead_fraction": value for layer, value in dead.items()},
              "dead_fraction_max": max(dead.values())}
    if config["dropout"] == "information":
        # How much noise each layer learned to add (figure 3a's caption: it adapts to the network's size).
        from infodropout.callbacks import AlphaMonitor

        alpha = AlphaMonitor(run.data.x_train[:DEAD_UNIT_PROBE], run.network, config["batch_size"]).statistics()
        result.update({key: value for key, value in alpha.items() if key.endswith(".alpha_mean")})
    if config["validation"]:
        x_validation, y_validation = validation_data(config)
        result["validation_error"] = evaluate_classifier(run.network, x_validation, y_validation, config["batch_size"],
                                                         config["weight_decay"], verbose=0)["error"]
    return result


# One point of compare, sweep and choose_lr, each in its own process.
TRAIN_TEST_AND_PROBE = PointFunction(MODULE, train_test_and_probe.__name__)


def compare(config: Config, log_scalar: Callable | None = None) -> None:
    """Figure 3a: train every method of ``methods`` at every width of ``widths`` for every seed of
    ``seeds``; print the test errors (%) as a table (mean ± std over seeds) and draw them against the
    number of hidden units into plots/mnist_fc-sweep<values>/ (results.json holds every run)."""
    figure3a(config, log_scalar)


def sweep(config: Config, log_scalar: Callable | None = None) -> None:
    """The same as ``compare`` (figure 3a), under the name the other scripts give their sweeps."""
    figure3a(config, log_scalar)


def figure3a(config: Config, log_scalar: Callable | None = None) -> None:
    import numpy as np

    from infodropout.paper.train.sweeps import run_sweep
    from infodropout.paper.figures.plots import plot_error_by_method

    methods = word_list(config["methods"])
    points = [{"width": w, "dropout": m, "seed": s} for w in config["widths"] for m in methods for s in config["seeds"]]

    results, folder = run_sweep("mnist_fc", config, DEFAULTS, points, TRAIN_TEST_AND_PROBE)
    errors, dead = {}, {}
    for result in results:
        errors.setdefault((result["dropout"], result["width"]), []).append(result["error"])
        dead.setdefault((result["dropout"], result["width"]), []).append(result.get("dead_fraction_max", np.nan))
    for (method, width), values in errors.items() if log_scalar is not None else ():
        log_scalar(f"error.{method}.{width}", float(np.mean(values)))
    spread = len(config["seeds"]) > 1
    print(markdown_table(
        ["hidden units"] + [f"{m} error %" for m in methods] + [f"{m} dead units % (worst layer)" for m in methods],
        [[w] + [f"{np.mean(errors[m, w]):.2f}" + (f" ± {np.std(errors[m, w], ddof=1):.2f}" if spread else "") for m in methods]
         + [f"{100 * np.max(dead[m, w]):.1f}" for m in methods] for w in config["widths"]],
    ))
    print(f"Dead units: ReLU output 0 on each of the first {DEAD_UNIT_PROBE} training images; above "
          f"{DEAD_LIMIT:.0%} a method's error reflects an optimisation failure, not its regularisation.")
    plot_error_by_method(results, "width", folder / "figure3a", methods, "hidden units per layer", chance=90.0)
    print(f"Wrote {folder}/results.json and figure3a.png/.pdf.")


def choose_lr(config: Config, log_scalar: Callable | None = None) -> None:
    """For every method of ``methods`` at every width of ``widths``, choose the learning rate among
    ``learning_rates`` on ``validation`` held-out training images (one run a rate, seed ``seed``): the rate with the
    lowest validation error. Then train each method and width at its chosen rate on the whole training set for every
    seed of ``seeds`` and test it, as ``compare`` does. Dead units are recorded and printed at every rate, and do not
    enter the choice: a rate that kills units but predicts the held-out images best is the better rate. Writes
    results.json (every run) and choice.json (the rate chosen for each method and width) into
    plots/mnist_fc-lr-sweep<values>/."""
    import json
    from pathlib import Path

    import numpy as np

    from infodropout.paper.train.checkpoint import atomic_write
    from infodropout.paper.errors import fail
    from infodropout.paper.train.sweeps import run_sweep

    if not config["validation"]:
        fail("choose_lr chooses on held-out training images: set validation=N (e.g. validation=1000).")
    rates, methods, widths = list(config["learning_rates"]), word_list(config["methods"]), list(config["widths"])
    cells = [(method, width) for width in widths for method in methods]
    trials = [{"dropout": method, "width": width, "learning_rate": rate, "validation": config["validation"],
               "seed": config["seed"]} for method, width in cells for rate in rates]
    results, folder = run_sweep("mnist_fc-lr", config, DEFAULTS, trials, TRAIN_TEST_AND_PROBE)
    tried = {cell: [r for r in results if r["validation"] and (r["dropout"], r["width"]) == cell
                    and r["learning_rate"] in rates] for cell in cells}
    chosen = {cell: min(runs, key=lambda r: r["validation_error"])["learning_rate"] for cell, runs in tried.items()}
    tests = [{"dropout": method, "width": width, "learning_rate": chosen[method, width], "validation": 0, "seed": seed}
             for method, width in cells for seed in config["seeds"]]
    results, folder = run_sweep("mnist_fc-lr", config, DEFAULTS, trials + tests, TRAIN_TEST_AND_PROBE)
    choice = {"validation": config["validation"], "seed": config["seed"], "learning_rates": rates,
              "rule": f"the lowest error on the last {config['validation']:,} training images (seed "
                      f"{config['seed']}); dead units recorded, not used to choose",
              "chosen": [{"dropout": method, "width": width, "learning_rate": chosen[method, width]}
                         for method, width in cells]}
    atomic_write(folder / "choice.json", lambda tmp: Path(tmp).write_text(json.dumps(choice, indent=1) + "\n"))
    rows = []
    for method, width in cells:
        final = [r for r in results if not r["validation"] and (r["dropout"], r["width"]) == (method, width)
                 and r["learning_rate"] == chosen[method, width]]
        errors = [r["error"] for r in final]
        rows.append([method, width] + [
            f"{r['validation_error']:.2f} ({100 * r['dead_fraction_max']:.0f})"
            for r in sorted(tried[method, width], key=lambda r: rates.index(r["learning_rate"]))]
            + [chosen[method, width], f"{np.mean(errors):.2f}" + (f" ± {np.std(errors, ddof=1):.2f}" if len(errors) > 1
                                                                  else ""),
               f"{100 * max(r['dead_fraction_max'] for r in final):.1f}"])
        if log_scalar is not None:
            log_scalar(f"chosen_learning_rate.{method}.{width}", chosen[method, width])
    print(markdown_table(["method", "hidden units"] + [f"validation error % at {rate} (dead units %)" for rate in rates]
                         + ["chosen", f"test error % over {len(config['seeds'])} seed(s)",
                            "dead units % (worst layer and seed)"], rows))
    print(f"Chosen: {choice['rule']}. Wrote {folder}/results.json and choice.json.")


# The commands, in the order --help lists them; the first, train, is the default.
COMMANDS = (train, test, compare, sweep, choose_lr)
# What the command line (sacred's, made when main runs) is made from.
COMMAND_LINE = CommandLine("mnist_fc", __doc__, __file__, Config, COMMANDS)


def main() -> None:
    """The command line, as ``./mnist_fc.py COMMAND with KEY=VALUE ...`` or
    ``python -m infodropout.paper.experiments.mnist_fc COMMAND with KEY=VALUE ...``."""
    run_experiment(COMMAND_LINE)


if __name__ == "__main__":
    main()
