"""Where a run computes: its ``tf.distribute`` strategy (one device, several GPUs or logical CPUs, several
hosts), its dtype policy, batch norm over the global batch, and which worker of a cluster writes the files."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import keras
import tensorflow as tf

from infodropout.layers import iter_layers

STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


@functools.lru_cache(maxsize=None)  # one per process: a MultiWorkerMirroredStrategy cannot be made twice
def make_strategy(name: str = "default", devices: int = 0) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy of a run; build the network, the trainer and its optimizer in its
    ``scope()``.

    ``default`` is TensorFlow's default strategy (one device). ``mirrored`` is a MirroredStrategy over
    ``devices`` (see :class:`TrainSettings`); on a host without GPUs, ``devices > 1`` splits the CPU into
    that many logical devices, which has to happen before TensorFlow initialises its devices (so, in a
    script, before the first tensor). ``multi_worker`` is a MultiWorkerMirroredStrategy whose cluster
    comes from the ``TF_CONFIG`` environment variable (one worker without it).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    # tf.distribute logs a line per all-reduce it plans at INFO, which sacred's logging shows.
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name != "mirrored":
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}.")
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if devices > len(gpus):
            raise ValueError(f"devices={devices} but this host has {len(gpus)} GPU(s).")
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices or len(gpus))])
    count = max(devices, 1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    # (get_logical_device_configuration, unlike list_logical_devices, does not start TensorFlow's devices.)
    if count > 1 and len(tf.config.get_logical_device_configuration(cpu) or ()) != count:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError as error:
            raise RuntimeError(f"cannot split the CPU into {count} devices once TensorFlow has started: make the "
                               "strategy before any tensor is created.") from error
    # No NCCL on CPUs: the gradients are summed on one device.
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(count)],
                                          cross_device_ops=tf.distribute.ReductionToOneDevice())


def set_precision(precision: str) -> None:
    """Make ``precision`` Keras's global dtype policy, for the networks built after it."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    keras.mixed_precision.set_global_policy(precision)


def synchronize_batch_norm(network: keras.Model) -> None:
    """Make every batch normalisation of ``network``, those inside Information Dropout layers included,
    compute its statistics over the global batch (all replicas) rather than over each replica's share.

    Outside a strategy this changes nothing but the formula of the moments (E[x²] − E[x]² over the one
    batch). The harness sets it on the built network, so that the library's layers need no TensorFlow-only
    argument (``synchronized=True`` is refused by Keras on the other backends).
    """
    for layer in iter_layers(network):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def is_chief() -> bool:
    """Whether this process writes the run's files: always, except for the non-chief workers of a
    ``multi_worker`` cluster (they compute the same values and write to a scratch folder)."""
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if not resolver.cluster_spec().jobs:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if "chief" in resolver.cluster_spec().jobs:
        return task_type == "chief"
    return task_type == "worker" and task_id == 0


def worker_scratch(checkpoint: str | os.PathLike) -> Path:
    """Where a non-chief worker writes its copy of ``checkpoint``'s files."""
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    checkpoint = Path(checkpoint)
    return checkpoint.parent / ".workers" / f"{resolver.task_type}{resolver.task_id}" / checkpoint.name
