"""The VAE's trainer: the negative variational lower bound as the training loss, optionally on digits binarised
afresh at every step."""

from __future__ import annotations

import keras
import tensorflow as tf

from infodropout.paper.train.trainer import Trainer
from infodropout.vae import reconstruction_loss


class Autoencoder(Trainer):
    """Lx is −log p(x|z) of the Bernoulli decoder, summed over pixels, averaged over the batch, so
    that with β = 1 (the latent's ``kl_weight``) the loss is the negative variational lower bound; also reports
    ``elbo``, with the KL itself (Lz / β), where β > 0.

    ``binarize_seed``: None trains on the inputs as given (digits binarised once); an integer treats them as
    grey levels in [0, 1] and draws each pixel's binary value afresh at every training step (each pixel 1 with
    probability its intensity), the binary digit being both input and target. The draw is a function of the seed
    and the optimizer's step count alone, which the training state keeps: a resumed run draws the digits an
    uninterrupted one would. Evaluation (``test_step``) uses its inputs as given."""

    def __init__(self, network: keras.Model, beta: float, weight_decay: float, binarize_seed: int | None = None,
                 **kwargs):
        # β is the latent's kl_weight, read here only to turn Lz back into the KL for the bound; at β = 0 the
        # KL is not in the loss and the bound is not logged.
        self.beta = float(beta)
        self.metric_names = ("loss", "Lx", "Lz", "elbo") if self.beta > 0 else ("loss", "Lx", "Lz")
        super().__init__(network, weight_decay, **kwargs)
        self.binarize_seed = binarize_seed

    def task_loss_function(self):
        return reconstruction_loss

    def objective_terms(self, targets, outputs, sample_weight=None) -> dict:
        terms = super().objective_terms(targets, outputs, sample_weight)
        if self.beta > 0:
            terms["elbo"] = -(terms["Lx"] + terms["Lz"] / self.beta)
        return terms

    def train_step(self, data):
        if self.binarize_seed is None:
            return super().train_step(data)
        inputs, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        binary = binarize_at_step(inputs, self.binarize_seed, self.optimizer.iterations)
        return super().train_step((binary, binary))


def binarize_at_step(images, seed: int, step) -> tf.Tensor:
    """Each pixel 1 with probability its intensity, drawn from (seed, step) alone (stateless)."""
    images = tf.convert_to_tensor(images)
    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])
    return tf.cast(tf.random.stateless_uniform(tf.shape(images), seed=key) < images, images.dtype)
