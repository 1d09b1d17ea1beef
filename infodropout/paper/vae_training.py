"""The VAE's trainer: the negative variational lower bound as the training loss, optionally on digits binarised
afresh at every step."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from infodropout.paper.training import Trainer
from infodropout.vae import bernoulli_log_likelihood


class Autoencoder(Trainer):
    """Lx is −log p(x|z) of the Bernoulli decoder, summed over pixels, averaged over the batch, so
    that with β = 1 the loss is the negative variational lower bound; also reports ``elbo``.

    ``binarize_seed``: None trains on the inputs as given (digits binarised once); an integer treats them as
    grey levels in [0, 1] and draws each pixel's binary value afresh at every training step (each pixel 1 with
    probability its intensity), the binary digit being both input and target. The draw is a function of the seed
    and the optimizer's step count alone, which the training state keeps: a resumed run draws the digits an
    uninterrupted one would. Evaluation (``test_step``) uses its inputs as given."""

    metric_names = ("loss", "Lx", "Lz", "elbo")

    def __init__(self, network: keras.Model, beta: float, weight_decay: float, binarize_seed: int | None = None,
                 **kwargs):
        super().__init__(network, beta, weight_decay, **kwargs)
        self.binarize_seed = binarize_seed

    def task_terms(self, targets, logits) -> dict:
        return {"Lx": -ops.mean(bernoulli_log_likelihood(targets, logits))}

    def _objective(self, targets, outputs) -> dict:
        terms = super()._objective(targets, outputs)
        terms["elbo"] = -(terms["Lx"] + terms["Lz"])
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
