"""Information Dropout (Achille & Soatto, arXiv:1611.01353) in TensorFlow / Keras 3.

The layer for your own models::

    from infodropout import InformationDropout

The paper's networks, training protocol and analyses live in the submodules ``models``,
``training``, ``analysis`` and ``data``; ``experiment`` is the sacred glue of the top-level scripts.
"""

from infodropout.kl import kl_gaussian, kl_log_normal, kl_log_uniform
from infodropout.layers import (
    BinaryDropout,
    InformationDropout,
    LogNormalDropout,
    information_dropout_layers,
    noise_scale,
)

__all__ = [
    "BinaryDropout",
    "InformationDropout",
    "LogNormalDropout",
    "information_dropout_layers",
    "kl_gaussian",
    "kl_log_normal",
    "kl_log_uniform",
    "noise_scale",
]
