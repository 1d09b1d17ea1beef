"""Shared test set-up: quiet TensorFlow, make the repository root importable, and the fixture that hands the
figures a plotting function draws to the test instead of writing them."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@pytest.fixture
def figures(monkeypatch):
    """The figures drawn, handed to the test instead of written."""
    import matplotlib.pyplot as plt

    from infodropout.paper.figures import plots

    figures = []

    def keep(figure, path, formats=("png",)):
        figure.canvas.draw()
        figures.append(figure)
        return []

    monkeypatch.setattr(plots, "save_figure", keep)
    yield figures
    for figure in figures:
        plt.close(figure)
