"""The config of the VAE of Table I on binarised MNIST: the paper's schedule and β = 1 with this project's
optimiser and batch size (:data:`infodropout.paper.protocols.VAE`), the latent, its table over k and latents, and
the early stop on held-out digits."""

from __future__ import annotations

from infodropout.paper import protocols
from infodropout.paper.configs.base import Setting, config_class
from infodropout.paper.configs.common import DATASET, PLOTS_DIR, SAMPLE_TEST, SEEDS, VALIDATION, training_settings
from infodropout.paper.configs.rules import Rule, integer_at_least, one_of, words_of

TRAINING = {setting.name: setting for setting in training_settings(protocols.VAE)}
TRAINING["beta"] = TRAINING["beta"].described("β, the weight of the KL term of the bound")

SETTINGS = [
    Setting("dataset", "mnist", DATASET, one_of("mnist", "sample")),
    SAMPLE_TEST,
    Setting("latent", "gaussian", "the latent layer: Gaussian or Information Dropout",
            one_of("gaussian", "information")),
    Setting("prior", "log_uniform", "the Information latent's prior (latent=information)",
            one_of("log_uniform", "log_normal")),
    Setting("k", 1, "the latent's size factor k of Table I", integer_at_least(1)),
    Setting("optimizer", "adam", "the optimizer", one_of("adam", "sgd")),
    Setting("test_samples", 10, "draws of z per test image for the bound", integer_at_least(1)),
    Setting("ks", [1, 2, 3], "table: the values of k, one run each per latent",
            Rule("a non-empty list of integers >= 1", lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                 and all(isinstance(k, int) and k >= 1 for k in v))),
    Setting("latents", ["gaussian", "information"], "table: the latents compared", words_of("gaussian", "information")),
    # table: every (k, latent) once per seed.
    SEEDS,
    # fixed: the digits binarised once; epoch: the training digits binarised afresh each epoch.
    Setting("binarize", "fixed", "vae: binarise the training digits once (fixed) or afresh each epoch (epoch)",
            one_of("fixed", "epoch")),
    PLOTS_DIR,
    # 0: the paper's protocol, every epoch of the schedule; N: stop on the bound of N held-out training images.
    VALIDATION.described("training images held out for early stopping on their bound (the last ones)"),
    Setting("patience", 10, "validation=N: epochs without improvement before training stops", integer_at_least(1)),
    *TRAINING.values(),
]

Config = config_class("vae", SETTINGS, module=__name__,
                      doc="The VAE of Table I on binarised MNIST (or the embedded sample): a Gaussian or an "
                          "Information Dropout latent.")
