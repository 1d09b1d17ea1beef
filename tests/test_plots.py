"""Every figure function writes its files from a small results list, without training."""

import numpy as np
import pytest

from infodropout.paper.plots import plot_activation_histogram, plot_error_by_method, plot_series

RESULTS = [{"beta": b, "error": 10 + b, "total_correlation": 0.1 * b, "main_error_N": 20.0, "main_error_D": 19.0,
            "nuisance_error": 50 + b} for b in (0.1, 1.0, 3.0)]


def written(files):
    return sorted(f.name for f in files if f.exists() and f.stat().st_size > 0)


def test_series_against_beta(tmp_path):
    files = plot_series(RESULTS, "beta", {"main_error_N": "N", "main_error_D": "D", "nuisance_error": "nuisance"},
                        tmp_path / "figure4", "β", "test error (%)", "Occluded CIFAR")
    assert written(files) == ["figure4.pdf", "figure4.png"]


def test_series_leave_out_missing_values(tmp_path):
    results = RESULTS + [{"beta": 10.0, "error": 20.0, "total_correlation": None}]
    assert written(plot_series(results, "beta", {"total_correlation": "TC"}, tmp_path / "tc", "β", "TC")) == [
        "tc.pdf", "tc.png"]


def test_error_by_method_with_seeds(tmp_path):
    results = [{"dropout": m, "width": w, "seed": s, "error": e + s}
               for m, e in (("information", 2.0), ("binary", 3.0)) for w in (32, 128) for s in (0, 1, 2)]
    files = plot_error_by_method(results, "width", tmp_path / "figure3a", ["information", "binary"], "hidden units")
    assert written(files) == ["figure3a.pdf", "figure3a.png"]


@pytest.mark.parametrize("prior", ["log_uniform", "log_normal"])
def test_activation_histogram_against_each_prior(prior, tmp_path):
    log_z = np.concatenate([np.random.default_rng(0).normal(size=1000), [-np.inf]])  # a dead ReLU unit is skipped
    files = plot_activation_histogram(log_z, prior, tmp_path / "histogram", prior_mean=0.1, prior_std=0.9)
    assert written(files) == ["histogram.pdf", "histogram.png"]


def test_log_axes_are_labelled_at_the_measured_values(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from infodropout.paper import plots

    labels = []

    def keep_labels(figure, path, formats=("png",)):
        figure.canvas.draw()
        labels.append([tick.get_text() for tick in figure.axes[0].get_xticklabels()])
        plt.close(figure)
        return []

    monkeypatch.setattr(plots, "save_figure", keep_labels)
    plot_series(RESULTS, "beta", {"total_correlation": "TC"}, tmp_path / "tc", "β", "TC")
    results = [{"dropout": "information", "width": w, "error": 1.0} for w in (32, 128, 512)]
    plot_error_by_method(results, "width", tmp_path / "figure3a", ["information"], "hidden units")
    assert labels == [["0.1", "1", "3"], ["32", "128", "512"]]


def test_a_long_run_name_as_title_does_not_widen_the_figure(tmp_path):
    from PIL import Image

    name = "cifar.activations=softplus.beta=0.3.dataset=sample.epochs=10.filter_percentage=0.25.lr_drops=[4,6,8]"
    log_z = np.random.default_rng(0).normal(size=1000)
    plot_activation_histogram(log_z, "log_normal", tmp_path / "plain")
    plot_activation_histogram(log_z, "log_normal", tmp_path / "titled", title=f"{name}: layer")
    plain, titled = tmp_path / "plain.png", tmp_path / "titled.png"
    assert Image.open(titled).width <= 1.1 * Image.open(plain).width


@pytest.mark.parametrize("prior", ["log_uniform", "log_normal"])
def test_the_histogram_legend_covers_no_data(prior, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from infodropout.paper import plots

    overlaps = []

    def measure(figure, path, formats=("png",)):
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        axis = figure.axes[0]
        legend = axis.get_legend().get_window_extent(renderer)
        overlaps.append(legend.overlaps(axis.get_window_extent(renderer)))
        plt.close(figure)
        return []

    monkeypatch.setattr(plots, "save_figure", measure)
    # Data over the whole plot: a wide histogram whose tallest bars are at both ends.
    rng = np.random.default_rng(0)
    log_z = np.concatenate([rng.normal(-3, 0.3, 5000), rng.normal(3, 0.3, 5000), rng.uniform(-3, 3, 5000)])
    plot_activation_histogram(log_z, prior, tmp_path / "histogram", prior_mean=0.0, prior_std=2.0)
    assert overlaps == [False]
