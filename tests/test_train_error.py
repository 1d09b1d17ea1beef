"""Every classifier sweep row carries the training error, measured as the test is."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def constant_classifier(label: int) -> keras.Model:
    """A network whose logits favour ``label`` whatever the input (zero weights, one positive bias)."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(10, kernel_initializer="zeros")
    outputs = dense(inputs)
    dense.bias.assign(np.eye(10, dtype="float32")[label])
    return keras.Model(inputs, outputs)


def test_training_error_is_the_error_on_the_first_training_images_only():
    from infodropout.paper.train.evaluation import training_error
    from infodropout.paper.train.trainer import TrainSettings

    x = np.zeros((8, 4), dtype="float32")
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])  # class 0 first: 3 of the first 4 are right, 3 of all 8
    network, settings = constant_classifier(0), TrainSettings(batch_size=3, weight_decay=0.0)
    assert training_error(network, x, y, settings) == pytest.approx(62.5)
    assert training_error(network, x, y, settings, limit=4) == pytest.approx(25.0)


@pytest.mark.slow
def test_a_tiny_sweep_row_has_its_training_error_beside_its_test_error(tmp_path):
    values = ["dataset=sample", "num_train=300", "num_test=200", "epochs=1", "widths=[16]", "methods=[information]",
              "seeds=[0]", "verbose=0"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, str(ROOT / "mnist_fc.py"), "sweep", "with", *values], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    [row] = json.loads(next((tmp_path / "plots").glob("mnist_fc-sweep*/results.json")).read_text())
    assert 0 <= row["train_error"] <= 100 and 0 <= row["error"] <= 100
