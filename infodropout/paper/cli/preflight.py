"""What the scripts check and set before anything heavy is imported: that this Python has the packages,
and a quiet TensorFlow on a machine without a GPU.

Standard library only, so that it runs (and says what to do) under a Python that lacks every package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from pathlib import Path

from infodropout.paper.paths import REPO_ROOT

# The packages a script needs before it can even parse its command line (sacred) or train (the rest).
REQUIRED = ("sacred", "tensorflow", "keras", "numpy", "scipy", "matplotlib")
ROOT = REPO_ROOT


def missing_packages(names=REQUIRED) -> list[str]:
    """The packages of ``names`` that this Python cannot import (the library's stand-in for a Keras without
    a backend counts as missing)."""
    def absent(name: str) -> bool:
        spec = importlib.util.find_spec(name)
        return spec is None or hasattr(spec.loader, "missing_reason")

    return [name for name in names if absent(name)]


def how_to_run(script: str) -> str:
    """The one line that says how to run ``script`` with the project's packages."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    if venv_python.exists():
        return (f"run it with the project's Python: {os.path.relpath(venv_python)} {script} ... "
                f"(or `source {os.path.relpath(venv_python.parents[1])}/bin/activate` first; to use this Python "
                f"instead: `pip install \".[paper]\"` in {ROOT})")
    return (f"set up the project's Python first with `make setup` (in {ROOT}), then run "
            f".venv/bin/python {script} ...; or, in a Python of your own, `pip install \".[paper]\"` in {ROOT} "
            "(the library with the experiments' packages)")


def require_packages(script: str | None = None) -> None:
    """End the program with one line if this Python lacks the scripts' packages (e.g. run outside .venv)."""
    missing = missing_packages()
    if missing:
        script = script or Path(sys.argv[0]).name
        print(f"{script}: this Python ({sys.executable}) lacks {', '.join(missing)}; {how_to_run(script)}.",
              file=sys.stderr)
        sys.exit(1)


def wants_gpu() -> bool:
    """Whether TensorFlow could use a GPU here: an NVIDIA device node exists and CUDA_VISIBLE_DEVICES
    does not hide every device."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*"))


def quiet_tensorflow_environment() -> None:
    """Before TensorFlow is imported: hide its C++ INFO and WARNING lines (TF_CPP_MIN_LOG_LEVEL=2);
    on a machine without a GPU also its errors (3), which are then only the failed search for CUDA
    (``failed call to cuInit``). A value the user set is kept."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if wants_gpu() else "3")


@contextlib.contextmanager
def _stderr_to_devnull():
    """Send the process's file descriptor 2 (C++ logging included) to /dev/null for a while."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader:
    """Runs the wrapped loader's ``exec_module`` with stderr sent to /dev/null."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with _stderr_to_devnull():
            self._loader.exec_module(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _QuietTensorFlowFinder:
    """A meta-path finder that makes the first ``import tensorflow``, wherever it happens (keras, the
    training code), run with stderr silenced; then it removes itself."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install_quiet_tensorflow_import() -> None:
    """Where there is no GPU and TensorFlow is not yet imported, hide the C++ lines it writes while it is
    imported ("Could not find cuda drivers", which its log level does not reach)."""
    if "tensorflow" not in sys.modules and not wants_gpu() and not os.environ.get("INFODROPOUT_TF_VERBOSE"):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
