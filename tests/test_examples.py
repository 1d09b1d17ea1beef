"""examples/own_model.py runs as the README shows it (here on TensorFlow, shortened), and its checks pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


# Slow (the example trains a network in its own process); CI runs it: the README's worked example.
@pytest.mark.slow
def test_own_model_example_trains_saves_loads_and_mc_predicts():
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, str(REPO / "examples" / "own_model.py"), "--epochs", "2", "--train",
                             "1000", "--samples", "3"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Keras") and "on tensorflow" in lines[0]
    assert sum(line.startswith("epoch ") and "relu_dropout α" in line and "softplus_dropout α" in line
               for line in lines) == 2
    assert "saved to .keras and loaded back: the same predictions" in lines
    error = float(next(line for line in lines if line.startswith("test error")).split()[2])
    assert error < 30.0  # 2 epochs on 1,000 digits; chance is 90 %
