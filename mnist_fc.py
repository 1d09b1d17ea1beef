#!/usr/bin/env python3
"""MNIST with a fully connected network of 3 hidden ReLU layers (paper §8, figure 3a).

    ./mnist_fc.py train with dropout=information width=256
    ./mnist_fc.py test with dropout=information width=256
    ./mnist_fc.py compare with widths=[64,256] methods=[information,binary]    # figure 3a (also: sweep)
    ./mnist_fc.py print_config

The full MNIST is downloaded into datasets/ on first use; ``dataset=sample`` uses instead the 10,000 real
MNIST digits shipped in infodropout/resources/, the last ``sample_test`` of them as the test set.
"""

from infodropout.paper.experiment import (
    COMMON_RULES, MNIST_RULES, Rule, add_classifier_commands, integer_at_least, load_mnist_data, make_experiment,
    markdown_table, one_of, run_experiment, train_and_test, training_defaults, word_list,
)

METHODS = ("information", "binary", "lognormal", "none")
DEFAULTS = dict(
    dataset="mnist",
    sample_test=2000,
    dropout="information",
    width=512,
    nesterov=False,
    widths=[64, 128, 256, 512, 1024],
    seeds=[0, 1, 2],
    plots_dir="plots",
    methods=list(METHODS),
    # The paper gives the schedule; β, the batch size and the weight decay are our choices (README).
    **training_defaults(batch_size=100, learning_rate=0.07, lr_drops=[30, 70], epochs=80, beta=3.0,
                        weight_decay=0.0, max_alpha=0.7),
)
RULES = {
    **COMMON_RULES,
    **MNIST_RULES,
    "dropout": one_of(*METHODS),
    "width": integer_at_least(1),
    "nesterov": one_of(True, False),
    "widths": Rule("a non-empty list of integers >= 1",
                   lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                   and all(isinstance(w, int) and w >= 1 for w in v)),
    "seeds": Rule("a non-empty list of integers >= 0",
                  lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(s, int) and s >= 0 for s in v)),
    "plots_dir": Rule("a folder path", lambda v: isinstance(v, str) and v != ""),
    "methods": Rule(f"a non-empty list of {METHODS}",
                    lambda v: bool(word_list(v)) and all(m in METHODS for m in word_list(v))),
}
ex = make_experiment("mnist_fc", DEFAULTS, RULES)


def build_network(config, n_train):
    from infodropout.models import fully_connected

    return fully_connected(config["width"], dropout=config["dropout"], max_alpha=config["max_alpha"],
                           kl_weight=1.0 / n_train, keep_prob=config["keep_prob"], fused=config["fused"])


add_classifier_commands(ex, DEFAULTS, load_mnist_data, build_network)


@ex.command
def compare(_config, _run):
    """Figure 3a: train every method of ``methods`` at every width of ``widths`` for every seed of
    ``seeds``; print the test errors (%) as a table (mean ± std over seeds) and draw them against the
    number of hidden units into plots/mnist_fc-sweep<values>/ (results.json holds every run)."""
    figure3a(_config, _run)


@ex.command
def sweep(_config, _run):
    """The same as ``compare`` (figure 3a), under the name the other scripts give their sweeps."""
    figure3a(_config, _run)


def figure3a(_config, _run) -> None:
    import numpy as np

    from infodropout.paper.experiment import run_sweep
    from infodropout.paper.plots import plot_error_by_method

    methods = word_list(_config["methods"])
    points = [{"width": w, "dropout": m, "seed": s} for w in _config["widths"] for m in methods for s in _config["seeds"]]

    def run_one(config):
        return {"error": train_and_test("mnist_fc", config, DEFAULTS, load_mnist_data, build_network).metrics["error"]}

    results, folder = run_sweep("mnist_fc", _config, DEFAULTS, points, run_one)
    errors = {}
    for result in results:
        errors.setdefault((result["dropout"], result["width"]), []).append(result["error"])
    for (method, width), values in errors.items():
        _run.log_scalar(f"error.{method}.{width}", float(np.mean(values)))
    spread = len(_config["seeds"]) > 1
    print(markdown_table(
        ["hidden units"] + [f"{m} error %" for m in methods],
        [[w] + [f"{np.mean(errors[m, w]):.2f}" + (f" ± {np.std(errors[m, w]):.2f}" if spread else "") for m in methods]
         for w in _config["widths"]],
    ))
    plot_error_by_method(results, "width", folder / "figure3a", methods, "hidden units per layer")
    print(f"Wrote {folder}/results.json and figure3a.png/.pdf.")


if __name__ == "__main__":
    run_experiment(ex)
