"""What the scripts check and set when they start (their ``main``), before anything heavy is imported: that this
Python has the packages, a quiet TensorFlow on a machine without a GPU, and a Ctrl-C answered in one line.

Standard library only, so that it runs (and says what to do) under a Python that lacks every package.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from infodropout.paper.machine import gpu_visible
from infodropout.paper.paths import REPO_ROOT

# The packages a script needs before it can even parse its command line (sacred) or train (the rest).
REQUIRED = ("sacred", "tensorflow", "keras", "numpy", "scipy", "matplotlib")


def missing_packages(names=REQUIRED) -> list[str]:
    """The packages of ``names`` that this Python cannot import (the library's stand-in for a Keras without
    a backend counts as missing)."""
    def absent(name: str) -> bool:
        spec = importlib.util.find_spec(name)
        return spec is None or hasattr(spec.loader, "missing_reason")

    return [name for name in names if absent(name)]


def how_to_run(script: str) -> str:
    """The one line that says how to run ``script`` with the project's packages."""
    venv_python = REPO_ROOT / ".venv" / "bin" / "python"
    if venv_python.exists():
        return (f"run it with the project's Python: {os.path.relpath(venv_python)} {script} ... "
                f"(or `source {os.path.relpath(venv_python.parents[1])}/bin/activate` first; to use this Python "
                f"instead: `pip install \".[paper]\"` in {REPO_ROOT})")
    return (f"set up the project's Python first with `make setup` (in {REPO_ROOT}), then run "
            f".venv/bin/python {script} ...; or, in a Python of your own, `pip install \".[paper]\"` in {REPO_ROOT} "
            "(the library with the experiments' packages)")


def require_packages(script: str | None = None) -> None:
    """End the program with one line if this Python lacks the scripts' packages (e.g. run outside .venv)."""
    missing = missing_packages()
    if missing:
        script = script or Path(sys.argv[0]).name
        print(f"{script}: this Python ({sys.executable}) lacks {', '.join(missing)}; {how_to_run(script)}.",
              file=sys.stderr)
        sys.exit(1)


def quiet_tensorflow_environment() -> None:
    """Before TensorFlow is imported: hide its C++ INFO and WARNING lines (TF_CPP_MIN_LOG_LEVEL=2);
    on a machine without a GPU also its errors (3), which are then only the failed search for CUDA
    (``failed call to cuInit``). A value the user set is kept."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if gpu_visible() else "3")


INTERRUPTED = ("interrupted (Ctrl-C); nothing half-written was kept. Run the same command again to go on "
               "(a training run resumes after its last completed epoch).")


def install_interrupt_hook() -> None:
    """Make a Ctrl-C that escapes every handler (during the imports of sacred and TensorFlow, before the command
    line can catch it) end the script as one caught inside does: one line and status 130. Called by the scripts'
    ``main``, never on import."""
    previous = sys.excepthook

    def interrupted_quietly(kind, value, traceback) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            previous(kind, value, traceback)
            return
        # The ``finally`` clauses that remove temporary files have already run by then.
        print(f"{Path(sys.argv[0]).name}: {INTERRUPTED}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)  # Python would otherwise re-raise SIGINT on itself (status -2), not exit with 130

    sys.excepthook = interrupted_quietly


def prepare(script: str | None = None) -> None:
    """What a script does first, before sacred or TensorFlow is imported: check the packages, quiet TensorFlow's
    C++ lines and catch a stray Ctrl-C."""
    require_packages(script)
    quiet_tensorflow_environment()
    install_interrupt_hook()
