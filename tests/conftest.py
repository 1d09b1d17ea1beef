"""Shared test set-up: quiet TensorFlow, make the repository root importable, the fixture that hands the figures a
plotting function draws to the test instead of writing them, and the order that starts the longest files first."""

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


# The test files that take minutes (seconds measured on 2 shared cores, docs/development.md): started first, so that
# with several workers (pytest-xdist, `-n`) none of them is left running alone at the end while the other workers
# are idle. Their order among themselves: longest first.
LONGEST_FIRST = ("test_reproduce.py", "test_distributed.py", "test_probes.py", "test_backends.py", "test_occluded.py",
                 "test_jobs.py", "test_scripts.py", "test_resume.py", "test_estimators.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
