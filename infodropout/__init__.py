"""Information Dropout (Achille & Soatto, arXiv:1611.01353) as a Keras 3 layer, on every backend.

The layer for your own models::

    from infodropout import InformationDropout

The library (this package's top-level modules: ``layers``, ``kl``, ``prediction``, ``callbacks``,
``models``, ``vae``, ``analysis``) needs only Keras and NumPy and runs on TensorFlow, JAX and PyTorch.
The harness of the paper's experiments (training protocol, data sets, sacred glue, figures, report)
is :mod:`infodropout.paper`; it imports the library, never the other way round.
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
