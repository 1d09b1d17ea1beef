"""Figures say what their error bars are as the report and docs do, and name their data set in words, never by a
run's raw name."""
from pathlib import Path

import numpy as np
import pytest
from test_plots import SEEDS, bar_half_lengths, legend_texts

from infodropout.paper.figures.plots import ERROR_BAR, plot_activation_histogram, plot_series
from infodropout.paper.figures.titles import human_title, retitle, wrapped

ROOT = Path(__file__).resolve().parents[1]
FASHION_RUN = "cifar.beta=1.2.dataset=fashion.epochs=8.filter_percentage=0.1.lr_drops=[3,5,6].num_train=20000"


def test_a_run_name_reads_as_its_network_data_set_and_settings():
    assert human_title(f"{FASHION_RUN}: information_dropout2") == (
        "All-CNN-32 (ReLU) on Fashion-MNIST (standing in for CIFAR-10), β = 1.2, 10 % of the filters: "
        "information_dropout2")
    assert human_title("cifar-probe-sweep.activations=softplus.dataset=fashion.filter_percentage=0.25") == (
        "All-CNN-32 (Softplus) on Fashion-MNIST (standing in for CIFAR-10), 25 % of the filters")
    assert human_title("cifar.beta=0.3").startswith("All-CNN-32 (ReLU) on CIFAR-10")
    # Titles that are no run's name stay as written.
    for title in ("Occluded Fashion-MNIST", "Cluttered MNIST, β = 0.08: KL divergence per position", "cifar"):
        assert human_title(title) == title
    # Wrapped after commas: "β = 1.2" is never split over two lines.
    assert all("β =" not in line or "β = 1.2" in line for line in wrapped(human_title(FASHION_RUN), 40).split("\n"))


def test_the_histogram_titles_a_run_name_in_words(figures):
    plot_activation_histogram(np.random.default_rng(0).normal(size=500), "log_uniform", "unused",
                              title=f"{FASHION_RUN}: information_dropout2")
    title = figures[0].axes[0].get_title()
    assert "Fashion-MNIST" in title and "dataset=" not in title and "cifar." not in title


def test_retitle_replaces_only_the_strip_above_the_axes(tmp_path):
    import matplotlib.pyplot as plt

    plot_activation_histogram(np.random.default_rng(0).normal(size=500), "log_uniform", tmp_path / "raw",
                              title=f"{FASHION_RUN}: information_dropout2")
    source = plt.imread(tmp_path / "raw.png")
    target = plt.imread(retitle(tmp_path / "raw.png", tmp_path / "new.png", "Figure 1: one line"))

    def frame_top(image):
        dark = image[..., :3].mean(axis=-1) < 0.35
        return int(np.flatnonzero(dark.sum(axis=1) > 0.5 * image.shape[1])[0])

    # The raw title's three lines sat above the frame; one line of title is left, the rest (axes, legend) kept.
    assert frame_top(target) < frame_top(source)
    assert target.shape[0] - frame_top(target) == pytest.approx(source.shape[0] - frame_top(source), abs=6)
    blank = np.ones((40, 40, 4))
    plt.imsave(tmp_path / "blank.png", blank)
    with pytest.raises(ValueError, match="no axes frame"):
        retitle(tmp_path / "blank.png", tmp_path / "x.png", "t")


def test_the_error_bars_drawn_are_the_ones_the_report_and_docs_name(tmp_path, figures):
    from test_report_sections import report_with_steps

    from infodropout.paper.report.writer import SPREAD

    plot_series(SEEDS, "beta", {"error": "test error"}, "unused", "β", "test error (%)")
    axis = figures[0].axes[0]
    assert bar_half_lengths(axis) == [pytest.approx([2 / np.sqrt(3)] * 2)]  # s = 2 over √3 seeds: an SE
    assert ERROR_BAR == "standard error" and f"mean ± {ERROR_BAR} over 3 seeds" in legend_texts(axis)[0]
    report = report_with_steps(tmp_path, {"figure5": [dict(r, train_error=1.0) for r in SEEDS]})
    report.provenance("figure5")
    said = "\n".join(report.lines)
    assert f"figures the mean with its {ERROR_BAR} as error bars" in said and "figures the same" not in said
    assert f"error bars are the mean's {ERROR_BAR}" in SPREAD
    docs = (ROOT / "docs" / "reproduction.md").read_text()
    assert "standard error (SE) as error bars" in docs and "figures the same as error bars" not in docs
