"""The VAE's trainer: the negative variational lower bound as the training loss."""

from __future__ import annotations

from keras import ops

from infodropout.paper.training import Trainer
from infodropout.vae import bernoulli_log_likelihood


class Autoencoder(Trainer):
    """Lx is −log p(x|z) of the Bernoulli decoder, summed over pixels, averaged over the batch, so
    that with β = 1 the loss is the negative variational lower bound; also reports ``elbo``."""

    metric_names = ("loss", "Lx", "Lz", "elbo")

    def task_terms(self, targets, logits) -> dict:
        return {"Lx": -ops.mean(bernoulli_log_likelihood(targets, logits))}

    def _objective(self, targets, outputs) -> dict:
        terms = super()._objective(targets, outputs)
        terms["elbo"] = -(terms["Lx"] + terms["Lz"])
        return terms
