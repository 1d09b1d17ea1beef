"""Information Dropout (Achille & Soatto, arXiv:1611.01353) in TensorFlow / Keras 3.

The layer for your own models::

    from infodropout import InformationDropout

The paper's networks, training protocol and analyses live in the submodules ``models``,
``training``, ``analysis`` and ``data``; ``experiment`` is the sacred glue of the top-level scripts.
"""

import importlib

# Where each public name lives. They are imported on first use (PEP 562), so that the scripts can
# validate their config and print it without paying for TensorFlow's start-up.
_PUBLIC = {
    "InformationDropout": "infodropout.layers",
    "BinaryDropout": "infodropout.layers",
    "LogNormalDropout": "infodropout.layers",
    "information_dropout_layers": "infodropout.layers",
    "noise_scale": "infodropout.layers",
    "kl_log_uniform": "infodropout.kl",
    "kl_log_normal": "infodropout.kl",
    "kl_gaussian": "infodropout.kl",
    "mc_predict": "infodropout.prediction",
    "stochastic_inference": "infodropout.prediction",
    "AlphaMonitor": "infodropout.callbacks",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'infodropout' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return __all__
