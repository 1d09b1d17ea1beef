"""The paper's training objective as a Keras model that ``fit`` trains on any backend.

``loss = Lx + Lz + weight_decay · L2`` (SPEC §1) where

- ``Lx`` is the task loss given to ``compile(loss=...)``, averaged over the batch (the cross-entropy of a
  classifier, −log p(x|z) of a VAE's decoder);
- ``Lz`` is the sum of the network's own losses: each Information Dropout (or Gaussian latent) layer adds
  ``kl_weight · mean_batch(Σ_units KL)``, with ``kl_weight = β / N_train`` for a classifier;
- ``L2 = Σ_w ‖w‖² / 2`` over every trainable variable (as ``tf.nn.l2_loss`` in the authors' code).

β lives in the layers' ``kl_weight`` and nowhere else. ``fit`` and ``evaluate`` log ``loss``, ``Lx`` and ``Lz``
beside the compiled metrics.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
from keras import ops

from infodropout.layers import iter_layers


@keras.saving.register_keras_serializable(package="infodropout")
class InformationBottleneck(keras.Model):
    """Trains ``network`` on ``Lx + Lz + weight_decay · L2``: the task loss, the layers' KL terms, weight decay.

    The terms are computed in float32 whatever the dtype policy. ``train_step`` is Keras's own, so loss scaling
    under ``mixed_float16`` (``keras.optimizers.LossScaleOptimizer``), ``steps_per_execution`` and every backend
    work as for any Keras model. Under a ``tf.distribute`` strategy each replica's loss is divided by the number
    of replicas, Keras's convention for equal shares of the global batch.

    Args:
        network: the model to train; its outputs go to the task loss, its losses are ``Lz``.
        weight_decay: the factor of ``L2``; 0 leaves it out.

    Example:

    >>> import keras, numpy as np
    >>> from infodropout import InformationBottleneck, InformationDropout
    >>> beta, n_train = 3.0, 256
    >>> inputs = keras.Input((8,))
    >>> hidden = InformationDropout(keras.layers.Dense(16), kl_weight=beta / n_train)(inputs)
    >>> network = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    >>> model = InformationBottleneck(network, weight_decay=1e-3)
    >>> model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> x, y = np.random.normal(size=(n_train, 8)), np.random.randint(3, size=n_train)
    >>> sorted(model.fit(x, y, epochs=1, verbose=0).history)
    ['Lx', 'Lz', 'loss']
    """

    # The terms logged each step, averaged over the epoch weighted by batch size; subclasses may add more.
    metric_names: tuple[str, ...] = ("loss", "Lx", "Lz")

    def __init__(self, network: keras.Model, weight_decay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not weight_decay >= 0:
            raise ValueError(f"InformationBottleneck: weight_decay must be >= 0, got {weight_decay!r}.")
        self.network = network
        self.weight_decay = float(weight_decay)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}

    @property
    def metrics(self):
        # Ours first; Keras's own "loss" tracker is replaced by ours, which records the same total on one device.
        own = list(self.trackers.values())
        return own + [metric for metric in super().metrics if metric.name not in self.trackers]

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def task_loss(self, targets, outputs, sample_weight=None):
        """Lx: the compiled loss per example, weighted, averaged over the batch (Keras's default reduction)."""
        if self.loss is None:
            raise ValueError("InformationBottleneck: pass the task loss Lx to compile(loss=...), e.g. "
                             "keras.losses.SparseCategoricalCrossentropy(from_logits=True) for logits.")
        loss = keras.losses.get(self.loss)
        # .call: the per-example values, without the reduction and the distribution scaling of Loss.__call__.
        per_example = loss.call(targets, outputs) if isinstance(loss, keras.losses.Loss) else loss(targets, outputs)
        per_example = ops.cast(per_example, "float32")
        if sample_weight is not None:
            per_example = per_example * ops.cast(ops.reshape(sample_weight, ops.shape(per_example)), "float32")
        return ops.mean(per_example)

    def task_terms(self, targets, outputs, sample_weight=None) -> dict:
        """``Lx`` and any further per-batch terms of the task (a subclass may add some to ``metric_names``)."""
        return {"Lx": self.task_loss(targets, outputs, sample_weight)}

    def objective_terms(self, targets, outputs, sample_weight=None) -> dict:
        """Lx, Lz, L2 and the total ``loss`` of one batch, as float32 scalars."""
        terms = self.task_terms(targets, ops.cast(outputs, "float32"), sample_weight)
        losses = [ops.cast(loss, "float32") for loss in self.losses]
        terms["Lz"] = ops.sum(ops.stack(losses)) if losses else ops.zeros(())
        terms["L2"] = ops.sum(ops.stack([ops.sum(ops.square(ops.cast(w, "float32")))
                                         for w in self.trainable_variables])) / 2
        terms["loss"] = terms["Lx"] + terms["Lz"] + self.weight_decay * terms["L2"]
        return terms

    def record(self, terms: dict, batch_size) -> None:
        """Add one batch's terms to the epoch's means, weighted by its size (a last, smaller batch counts for what
        it holds)."""
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name], sample_weight=ops.cast(batch_size, "float32"))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        terms = self.objective_terms(y, y_pred, sample_weight)
        batch_size = ops.shape(y_pred)[0]
        self.record(terms, batch_size)
        return self.scaled_loss(terms, batch_size)

    def scaled_loss(self, terms: dict, batch_size):
        """The loss this replica differentiates: the total divided by the number of replicas under a
        ``tf.distribute`` strategy (whose optimizer sums the replicas' gradients, each replica holding an equal
        share of the batch), the total otherwise."""
        replicas = _replicas_in_sync()
        return terms["loss"] if replicas == 1 else terms["loss"] / replicas

    def get_config(self) -> dict:
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network),
                "weight_decay": self.weight_decay}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"], custom_objects=custom_objects)
        return cls(**config)


def _replicas_in_sync() -> int:
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf  # only on the TensorFlow backend, whose strategies are tf.distribute's

    return tf.distribute.get_strategy().num_replicas_in_sync


def kl_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers of ``model`` that add a KL term to its losses (those with a ``kl_weight``), in order."""
    return [layer for layer in iter_layers(model) if hasattr(layer, "kl_weight")]


@contextlib.contextmanager
def kl_weights(model: keras.layers.Layer, value: float) -> Iterator[None]:
    """Temporarily set ``kl_weight`` of every KL layer of ``model``: 1 makes ``model.losses`` the KL itself (as
    the variational lower bound needs it), whatever β the model trains with. Affects eager calls and functions
    traced inside the block, not functions traced before it."""
    layers = kl_layers(model)
    previous = [layer.kl_weight for layer in layers]
    for layer in layers:
        layer.kl_weight = float(value)
    try:
        yield
    finally:
        for layer, old in zip(layers, previous):
            layer.kl_weight = old
