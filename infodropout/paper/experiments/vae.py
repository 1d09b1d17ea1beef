"""The VAE of Table I on binarised MNIST: a Gaussian latent against an Information Dropout latent.

    ./vae.py train with latent=information k=1
    ./vae.py test with latent=information k=1
    ./vae.py table with epochs=20                # k = 1, 2, 3 for both latents, as Markdown
    ./vae.py table with prior=log_normal latents=[information]   # the Softplus latent, a proper prior
    ./vae.py samples with latent=gaussian k=1
    ./vae.py table with validation=1000 patience=8 epochs=80   # until the validation bound stops improving

The bound is the test set's variational lower bound in nats per image, log p(x|z) − KL, with z drawn
from q(z|x) and averaged over ``test_samples`` draws (infodropout.vae.variational_lower_bound).
``validation=N`` holds out the last N training images (never test images): after each epoch their bound
(one draw of z per image) goes into the history as ``val_elbo``; training stops once it has not improved
for ``patience`` epochs (or at ``epochs``), and the checkpoint, hence the test bound, is the best epoch's.

``binarize=fixed`` (the default) binarises every digit once, with a fixed seed; ``binarize=epoch`` draws the
training digits' binarisation afresh each time a digit is seen (once an epoch), a function of the seed and the
step, so that a resumed run draws what an uninterrupted one would; the validation and test digits stay binarised
once. ``table`` trains every latent once per seed of ``seeds`` under the same rule; its rows carry ``seed``.

    ./vae.py table with validation=1000 patience=10 epochs=150 seeds=[0,1,2] binarize=epoch
"""

from __future__ import annotations

from collections.abc import Callable

from infodropout.paper.cli.experiment import CommandLine, run_experiment
from infodropout.paper.configs.rules import word_list
from infodropout.paper.configs.vae import Config
from infodropout.paper.errors import fail
from infodropout.paper.train import registry
from infodropout.paper.train.run_names import checkpoint_path, run_name
from infodropout.paper.train.runs import (
    checked_load, fit_options, import_tensorflow_quietly, load_checkpoint, load_mnist_data, markdown_table, seed_run,
    train_settings, training_failures,
)
from infodropout.paper.train.sweeps import PointFunction

# The module a sweep's point processes import the point functions from (this one's name also when it runs as
# __main__).
MODULE = __spec__.name if __spec__ else __name__
DEFAULTS = Config.defaults()

# Table I of the paper: test lower bound (nats) for k = 1, 2, 3.
PAPER = {"gaussian": {1: -98.8, 2: -99.0, 3: -98.7}, "information": {1: -100.0, 2: -99.1, 3: -99.1}}

def load_data(config):
    """The digits binarised once (training with seed 0, test with seed 1); with ``binarize=epoch`` the training
    digits stay in grey levels (see :func:`split_training_digits`)."""
    import_tensorflow_quietly()  # infodropout.vae imports Keras
    from infodropout.paper.data.formats import Dataset
    from infodropout.vae import binarize

    data = load_mnist_data(config)
    x_train = data.x_train if config.get("binarize") == "epoch" else binarize(data.x_train, seed=0)
    return Dataset(x_train, data.y_train, binarize(data.x_test, seed=1), data.y_test)


def split_training_digits(config, data):
    """The training set without the held-out digits, and the held-out digits binarised (with ``binarize=epoch``
    the training digits come in grey levels; the held-out ones are binarised once, as in ``binarize=fixed``, so
    that the stopping rule reads one fixed set). A ``validation`` too large ends the command in one line."""
    from infodropout.paper.train.early_stopping import validation_split
    from infodropout.vae import binarize

    try:
        data, (x_validation, _) = validation_split(data, config["validation"])
    except ValueError as error:
        fail(str(error))
    if config["binarize"] == "epoch" and len(x_validation):
        x_validation = binarize(x_validation, seed=0)
    return data, x_validation


def train_one(config, log_scalar=None) -> dict:
    """Train (or resume, or reuse if complete) the run of ``config``, then return its test bound, with
    (early stopping) the best and last epochs and the per-epoch validation bound."""
    from infodropout.paper.train.early_stopping import EarlyStopping
    from infodropout.paper.train.trainer import fit_trainer
    from infodropout.paper.train.vae import Autoencoder
    from infodropout.vae import variational_lower_bound, variational_autoencoder

    if config["latent"] == "gaussian" and config["prior"] != DEFAULTS["prior"]:
        fail("prior= chooses the Information latent's prior; the Gaussian latent has its own N(0, I).")
    checkpoint = checkpoint_path(config["models_dir"], run_name("vae", config, DEFAULTS))
    registry.check_resume(checkpoint, config, restart=config["restart"])
    settings = train_settings(config)
    strategy = seed_run(settings)
    data, x_validation = split_training_digits(config, checked_load(load_data, config))
    with strategy.scope():  # the network, trainer and optimizer are made under the run's strategy
        network = variational_autoencoder(config["k"], config["latent"], max_alpha=config["max_alpha"], kl_weight=config["beta"],
                                          prior=config["prior"])
        print(f"Run {checkpoint.stem}: {len(data.x_train)} training, {len(x_validation)} validation and "
              f"{len(data.x_test)} test images, {network.count_params():,} parameters.")
        stopper = None
        if len(x_validation):
            def evaluate():
                bound = variational_lower_bound(network, x_validation, samples=1, batch_size=config["batch_size"])
                return {f"val_{key}": value for key, value in bound.items()}

            stopper = EarlyStopping(network, evaluate, checkpoint, config["patience"], monitor="val_elbo")
        registry.record_training(checkpoint, "vae", config, DEFAULTS, restart=config["restart"])
        with training_failures():
            trainer = Autoencoder(network, beta=config["beta"], weight_decay=settings.weight_decay,
                                  binarize_seed=settings.seed if config["binarize"] == "epoch" else None)
            records = fit_trainer(trainer,
                                  data.x_train, data.x_train, settings, checkpoint, log_scalar=log_scalar,
                                  monitor_alpha=config["latent"] == "information", early_stopping=stopper,
                                  **fit_options(config, checkpoint))
    registry.record_trained(checkpoint)
    bound = variational_lower_bound(network, data.x_test, samples=config["test_samples"], batch_size=config["batch_size"])
    registry.record_test(checkpoint, bound)
    bound["binarize"] = config["binarize"]
    if stopper is not None:
        bound.update(train_images=len(data.x_train), best_epoch=stopper.best_epoch,
                     last_epoch=records[-1]["epoch"] if records else 0,
                     max_epochs=settings.epochs, validation=len(x_validation),
                     curve=[{"epoch": r["epoch"], "elbo": r["elbo"], "val_elbo": r["val_elbo"]}
                            for r in records if "val_elbo" in r])
    return bound


# One row of table, in its own process: train_one(config), its log_scalar left out as in the sweep's process.
TRAIN_ONE = PointFunction(MODULE, train_one.__name__)


def report(bound: dict, log_scalar: Callable | None = None) -> dict:
    """Print the test bound (and where early stopping ended) and give its terms to ``log_scalar``."""
    for key in ("elbo", "reconstruction", "kl") if log_scalar is not None else ():
        log_scalar(f"test.{key}", bound[key])
    print(f"Test lower bound: {bound['elbo']:.2f} nats (E log p(x|z) {bound['reconstruction']:.2f}, KL {bound['kl']:.2f})")
    if "best_epoch" in bound:
        print(f"Best validation bound at epoch {bound['best_epoch']} of {bound['last_epoch']} trained "
              f"(at most {bound['max_epochs']}).")
    return bound


def train(config: Config, log_scalar: Callable | None = None) -> dict:
    """Train with the config's values (resuming a stopped run), then print the test lower bound."""
    return report(train_one(config, log_scalar), log_scalar)


def test(config: Config, log_scalar: Callable | None = None) -> dict:
    """The test lower bound of a trained run: the one named by the `with` values, or the one trained run they
    match (`runs` lists them)."""
    from infodropout.vae import variational_lower_bound

    network, data = load_checkpoint("vae", config, DEFAULTS, load_data)
    bound = variational_lower_bound(network, data.x_test, config["test_samples"], config["batch_size"])
    registry.record_test(checkpoint_path(config["models_dir"], run_name("vae", config, DEFAULTS)), bound,
                         "vae", config, DEFAULTS)
    return report(bound, log_scalar)


def table(config: Config, log_scalar: Callable | None = None) -> None:
    """Table I: the test lower bound for each k of ``ks`` and each latent of ``latents``, once per seed of
    ``seeds`` (the mean ± the seeds' spread), beside the paper's; every run is trained or reused under the same
    stopping rule, and results.json (a row per run, with its ``seed``) goes to plots/vae-sweep<values>/."""
    from infodropout.paper.train.sweeps import run_sweep

    latents = word_list(config["latents"])
    if "gaussian" in latents and config["prior"] != DEFAULTS["prior"]:
        fail("prior= applies to the Information latent only: add latents=[information].")
    from infodropout.paper.train.sweeps import with_seeds

    points = with_seeds([{"k": k, "latent": latent} for k in config["ks"] for latent in latents], config["seeds"])
    results, folder = run_sweep("vae", config, DEFAULTS, points, TRAIN_ONE)
    for r in results if log_scalar is not None else ():
        log_scalar(f"elbo.{r['latent']}.{r['k']}.seed{r.get('seed', 0)}", r["elbo"])
    print(markdown_table(
        ["k"] + [f"{latent} (ours)" for latent in latents] + [f"{latent} (paper)" for latent in latents],
        [[k] + [seeds_summary([r["elbo"] for r in results if (r["latent"], r["k"]) == (latent, k)])
                for latent in latents] + [PAPER[latent].get(k, "–") for latent in latents]
         for k in config["ks"]]))
    for r in results:
        if "best_epoch" in r:
            print(f"{r['latent']}, k = {r['k']}, seed {r.get('seed', 0)}: best validation bound at epoch "
                  f"{r['best_epoch']} (its weights are tested), trained {r['last_epoch']} of at most "
                  f"{r['max_epochs']} epochs.")
    print(f"Wrote {folder}/results.json.")


def seeds_summary(values) -> str:
    """One value as it is; several as their mean ± their sample standard deviation, with their count."""
    import numpy as np

    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{np.mean(values):.1f} ± {np.std(values, ddof=1):.1f} ({len(values)} seeds)"


def samples(config: Config) -> None:
    """Reconstructions of test digits (and, for the Gaussian latent, decoded prior samples) into plots/."""
    from pathlib import Path

    from infodropout.paper.figures.plots import plot_vae_samples

    network, data = load_checkpoint("vae", config, DEFAULTS, load_data)
    name = run_name("vae", config, DEFAULTS)
    files = plot_vae_samples(network, data.x_test[:10], Path(config["plots_dir"]) / name,
                             prior_samples=config["latent"] == "gaussian", seed=config["seed"])
    print("Wrote " + ", ".join(str(f) for f in files))


# The commands, in the order --help lists them; the first, train, is the default.
COMMANDS = (train, test, table, samples)
# What the command line (sacred's, made when main runs) is made from.
COMMAND_LINE = CommandLine("vae", __doc__, __file__, Config, COMMANDS)


def main() -> None:
    """The command line, as ``./vae.py COMMAND with KEY=VALUE ...`` or
    ``python -m infodropout.paper.experiments.vae COMMAND with KEY=VALUE ...``."""
    run_experiment(COMMAND_LINE)


if __name__ == "__main__":
    main()
