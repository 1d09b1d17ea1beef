"""The library's tests (tests/library) once more per installed Keras backend other than TensorFlow, each in its
own process with KERAS_BACKEND set: Keras picks its backend once per process, and this suite runs on TensorFlow
(which runs tests/library in-process like any other test folder)."""

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARY_TESTS = REPO / "tests" / "library"
# What each backend needs importable in this interpreter.
BACKEND_MODULES = {"jax": "jax", "torch": "torch"}
HOW_TO_GET = {"jax": "`make test` installs it from requirements.txt", "torch": "pip install torch to test PyTorch"}


def run_library_tests(backend: str, *args: str) -> str:
    """tests/library (or the ``args`` given to pytest) in a process of its own on ``backend``; its last line."""
    if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
        pytest.skip(f"{BACKEND_MODULES[backend]} is not installed in {sys.prefix}, so the library is not tested on "
                    f"KERAS_BACKEND={backend} here ({HOW_TO_GET[backend]})")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(args or [str(LIBRARY_TESTS)])],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"tests/library on {backend}:\n{output[-6000:]}"
    return output.strip().splitlines()[-1]


@pytest.mark.parametrize("backend", sorted(BACKEND_MODULES))
@pytest.mark.slow
def test_library_tests_pass_on_backend(backend):
    summary = run_library_tests(backend)
    # Every test ran on the backend asked for (test_runs_on_the_backend_it_was_asked_for checks it), none skipped but
    # on PyTorch's CPU the float16 cases, whose kernels it lacks (4, as Keras's own harness leaves them out there).
    skipped = r"(, 4 skipped)?" if backend == "torch" else ""
    assert re.fullmatch(rf"\d+ passed{skipped}(, \d+ warnings?)? in .*", summary), summary


@pytest.mark.parametrize("backend", sorted(BACKEND_MODULES))
def test_keras_layer_harness_and_the_objective_pass_on_backend(backend):
    """The fast share of the above, for `make test`: Keras's layer harness on every layer but the convolutional
    ones (whose JAX compilation takes a minute; the slow test runs them), the dtype policies and the objective."""
    summary = run_library_tests(backend, str(LIBRARY_TESTS / "test_keras_layer_harness.py"),
                                str(LIBRARY_TESTS / "test_objective.py"), "-k", "not conv2d")
    # The cases left out are the convolutional ones only; on PyTorch's CPU the float16 cases are skipped.
    skipped = r"(, 4 skipped)?" if backend == "torch" else ""
    assert re.fullmatch(rf"\d+ passed{skipped}, 6 deselected(, \d+ warnings?)? in .*", summary), summary


def test_library_tests_import_only_keras_numpy_pytest_and_the_library():
    allowed = {"keras", "numpy", "pytest", "infodropout", "os", "warnings", "re", "math"}
    for path in LIBRARY_TESTS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
                assert not name.startswith("infodropout.paper"), f"{path.name} imports the harness: {name}"
