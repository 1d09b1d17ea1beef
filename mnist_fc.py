#!/usr/bin/env python
"""MNIST with a fully connected network of 3 hidden ReLU layers (paper §8, figure 3a).

    ./mnist_fc.py train with dropout=information width=256
    ./mnist_fc.py test with dropout=information width=256
    ./mnist_fc.py compare with widths=[64,256] methods=[information,binary]
    ./mnist_fc.py print_config

The full MNIST is downloaded into datasets/ on first use; ``dataset=sample`` uses instead the 10,000 real
MNIST digits shipped in infodropout/resources/, the last ``sample_test`` of them as the test set.
"""

from infodropout.experiment import (
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
    """Train every method of ``methods`` at every width of ``widths`` and print the test errors (%)."""
    errors = {}
    methods = word_list(_config["methods"])
    for width in _config["widths"]:
        for method in methods:
            config = {**_config, "dropout": method, "width": width}
            errors[method, width] = train_and_test("mnist_fc", config, DEFAULTS, load_mnist_data, build_network)["error"]
            _run.log_scalar(f"error.{method}.{width}", errors[method, width])
    table = markdown_table(
        ["hidden units"] + [f"{m} error %" for m in methods],
        [[w] + [f"{errors[m, w]:.2f}" for m in methods] for w in _config["widths"]],
    )
    print(table)


if __name__ == "__main__":
    run_experiment(ex)
