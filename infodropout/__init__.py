"""Information Dropout (Achille & Soatto, arXiv:1611.01353) as a Keras 3 layer, on every backend.

The layer for your own models::

    from infodropout import InformationDropout

The library (this package's top-level modules: ``layers``, ``kl``, ``normalization``, ``prediction``,
``callbacks``, ``objective``, ``models``, ``vae``, ``readouts``, ``log_activations``, ``total_correlation``,
``localisation``, ``noise_share``, ``estimators``, ``estimation_tools``, ``critic_training``, ``probing``) needs
only Keras and NumPy and runs on TensorFlow, JAX and PyTorch.
The harness of the paper's experiments (training protocol, data sets, sacred glue, figures, report)
is :mod:`infodropout.paper`; it imports the library, never the other way round.
"""

import importlib
import importlib.util
import json
import os
import sys

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
    "FusedBatchNormalization": "infodropout.normalization",
    "InformationBottleneck": "infodropout.objective",
    "kl_weights": "infodropout.objective",
}
__all__ = sorted(_PUBLIC)

# The module each Keras backend needs, by the name KERAS_BACKEND gives it.
_BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
                    "openvino": "openvino"}


def _keras_backend() -> str:
    """The backend Keras will load, found as Keras finds it (KERAS_BACKEND, then keras.json, then
    TensorFlow), without importing Keras."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as file:
            return str(json.load(file).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def _missing_keras() -> str | None:
    """Why Keras cannot be imported here (None where it can): Keras itself or its backend is missing."""
    install = ("install Keras with a backend: `pip install keras tensorflow` (or keras with jax, or with torch, "
               "then KERAS_BACKEND=jax or torch)")
    if "keras" in sys.modules:
        return None
    if importlib.util.find_spec("keras") is None:
        return f"infodropout needs Keras 3 with a backend, and Keras is not installed: {install}."
    backend = _keras_backend()
    module = _BACKEND_MODULES.get(backend, backend)
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a module hidden by sys.modules[name] = None
        found = False
    if not found:
        return (f"infodropout needs Keras 3 with a backend: Keras's backend here is {backend!r} "
                f"({'KERAS_BACKEND' if os.environ.get('KERAS_BACKEND') else 'its default'}), and {module} is not "
                f"installed. {install[0].upper()}{install[1:]}.")
    return None


class _NoKerasBackend:
    """Stands in the import system for ``keras`` where Keras or its backend is missing: the first
    ``import keras`` (by any module of the library) raises one clear ImportError instead of Keras's own
    traceback from inside its backend. A mere look-up (``importlib.util.find_spec``) finds a module
    whose loader is this object, with the reason in ``missing_reason``."""

    def __init__(self, reason: str):
        self.missing_reason = reason

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        import importlib.machinery

        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        raise ImportError(self.missing_reason, name="keras")

    def exec_module(self, module):  # never reached: create_module refuses
        raise ImportError(self.missing_reason, name="keras")


_reason = _missing_keras()
if _reason is not None:
    sys.meta_path.insert(0, _NoKerasBackend(_reason))


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'infodropout' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return __all__
