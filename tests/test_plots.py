"""Every figure function writes its files from a small results list, without training."""

import numpy as np
import pytest

from infodropout.paper.figures.plots import plot_activation_histogram, plot_error_by_method, plot_series

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

    from infodropout.paper.figures import plots

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

    from infodropout.paper.figures import plots

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


def legend_texts(axis):
    legend = axis.get_legend()
    return [legend.get_title().get_text()] + [text.get_text() for text in legend.get_texts()]


def bar_half_lengths(axis):
    """The half length of every error bar drawn on ``axis``, per series."""
    return [[float(abs(segment[1][1] - segment[0][1]) / 2) for segment in container.lines[2][0].get_segments()]
            for container in axis.containers]


SEEDS = [{"beta": b, "seed": s, "error": 10.0 + 2 * s, "twin": 10.0 + 2 * s, "nuisance": 80.0 + b}
         for b in (0.1, 1.0) for s in (0, 1, 2)]


def test_error_bars_are_the_standard_error_and_the_legend_says_over_how_many_seeds(figures):
    plot_series(SEEDS, "beta", {"error": "test error"}, "unused", "β", "test error (%)")
    axis = figures[0].axes[0]
    # Values 10, 12, 14: sample standard deviation 2, standard error 2 / √3 (the std would be 2).
    assert bar_half_lengths(axis) == [pytest.approx([2 / np.sqrt(3)] * 2)]
    assert "mean ± standard error over 3 seeds" in legend_texts(axis)[0]
    results = [{"dropout": m, "width": w, "seed": s, "error": 10.0 + 2 * s} for m in ("information", "none")
               for w in (32, 128) for s in (0, 1)]
    plot_error_by_method(results, "width", "unused", ["information", "none"], "hidden units")
    axis = figures[1].axes[0]
    assert bar_half_lengths(axis) == [pytest.approx([np.sqrt(2) / np.sqrt(2)] * 2)] * 2
    assert "mean ± standard error over 2 seeds" in legend_texts(axis)[0]


def test_a_single_run_per_point_has_no_error_bar_and_says_so(figures):
    plot_series(RESULTS, "beta", {"error": "test error"}, "unused", "β", "test error (%)")
    axis = figures[0].axes[0]
    assert axis.containers[0].has_yerr is False and legend_texts(axis)[0].startswith("one run per point")


def test_identical_series_are_drawn_apart(figures):
    plot_series(SEEDS, "beta", {"error": "one", "twin": "the other"}, "unused", "β", "test error (%)")
    results = [{"dropout": m, "width": w, "error": 5.0} for m in ("information", "none") for w in (32, 128)]
    plot_error_by_method(results, "width", "unused", ["information", "none"], "hidden units")
    for figure in figures:
        one, other = (container.lines[0] for container in figure.axes[0].containers)
        assert np.array_equal(one.get_ydata(), other.get_ydata())
        assert np.all(np.asarray(one.get_xdata()) < np.asarray(other.get_xdata()))  # shifted along x
        assert one.get_marker() != other.get_marker() and one.get_linestyle() != other.get_linestyle()
        # ... but the ticks stay at the measured values.
        assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] in (["0.1", "1"], ["32", "128"])


def horizontal_lines_at(axis, y):
    return [line for line in axis.get_lines() if len(set(line.get_ydata())) == 1 and line.get_ydata()[0] == y]


def test_the_chance_line_is_drawn_where_the_errors_come_near_it_and_named_otherwise(figures):
    plot_series(SEEDS, "beta", {"nuisance": "nuisance"}, "unused", "β", "test error (%)", chance=90.0)
    plot_series(SEEDS, "beta", {"error": "main"}, "unused", "β", "test error (%)", chance=90.0)
    near, far = (figure.axes[0] for figure in figures)
    [line] = horizontal_lines_at(near, 90.0)
    assert line.get_label() == "chance, 90 %" and near.get_ylim()[1] > 90
    assert horizontal_lines_at(far, 90.0) == [] and far.get_ylim()[1] < 20  # 10–14 % are not squeezed to a strip
    assert "chance, 90 % (above this axis)" in legend_texts(far)


def test_panels_give_each_level_its_own_axis_fitted_to_its_data(figures):
    plot_series(SEEDS, "beta", {"error": "main", "nuisance": "nuisance"}, "unused", "β", "test error (%)",
                "a title", chance=90.0, panels=[["error"], ["nuisance"]])
    main, nuisance = figures[0].axes
    low, high = nuisance.get_ylim()
    # 80.1–81 % and chance: the panel spans about 10 points, not the 10–90 % of one shared axis.
    assert 78 < low < 80.1 and 90 < high < 92
    assert main.get_ylim()[1] < 20
    with pytest.raises(ValueError, match="not series"):
        plot_series(SEEDS, "beta", {"error": "main"}, "unused", "β", "test error (%)", panels=[["nuisance"]])


def test_learning_curves_get_a_panel_per_k_a_colour_per_latent_and_the_improper_prior_dashed(figures):
    from infodropout.paper.figures.learning_curves import Curve, plot_learning_curves

    def curve(series, k, seed, bound=True):
        records = [{"epoch": e, "val_elbo": -100.0 - k + e + seed} for e in range(1, 11)]
        return Curve(series, f"k = {k}", records, best_epoch=10, bound=bound)

    plot_learning_curves([curve(s, k, seed, bound=s != "log-uniform")
                          for k in (1, 2) for s in ("Gaussian", "log-uniform") for seed in (0, 1, 2)], "unused")
    first, second = figures[0].axes
    assert (first.get_title(), second.get_title()) == ("k = 1", "k = 2")
    # 6 runs a panel, each with its best-epoch star; seeds of one latent share a colour, the latents differ.
    lines = [line for line in first.get_lines() if line.get_marker() != "*"]
    assert len(lines) == 6 and len(first.get_lines()) == 12
    assert len({line.get_color() for line in lines[:3]}) == 1 and lines[0].get_color() != lines[3].get_color()
    assert {line.get_linestyle() for line in lines[:3]} == {"-"}
    assert {line.get_linestyle() for line in lines[3:]} == {"--"}
    # One legend entry per latent (not per run), the improper prior's labelled as no bound.
    texts = [text.get_text() for text in figures[0].legends[0].get_texts()]
    assert texts == ["Gaussian", "log-uniform: not a bound (improper prior)", "best epoch (the checkpoint)"]
    # The y axis spans the values from epoch 5 on (the lowest -97: k = 2, seed 0), not epoch 1's -101, so that the
    # first epochs do not flatten the gaps; the highest, -89, is inside it.
    low, high = first.get_ylim()
    assert -98 < low < -97 and high > -89


def test_learning_curves_refuse_what_they_cannot_draw(figures):
    from infodropout.paper.figures.learning_curves import Curve, plot_learning_curves

    records = [{"epoch": 1, "val_elbo": -100.0}]
    with pytest.raises(ValueError, match="no learning curves"):
        plot_learning_curves([], "unused")
    with pytest.raises(ValueError, match="has no epochs"):
        plot_learning_curves([Curve("Gaussian", "k = 1", [])], "unused")
    with pytest.raises(ValueError, match="either a bound or not"):
        plot_learning_curves([Curve("a", "k = 1", records), Curve("a", "k = 2", records, bound=False)], "unused")


def test_a_zero_among_positive_x_gets_a_symmetric_log_axis_labelled_at_the_measured_values(figures):
    results = [{"beta": b, "seed": s, "error": 10.0 + b + s} for b in (0.0, 0.04, 0.4, 4.0) for s in (0, 1)]
    plot_series(results, "beta", {"error": "error"}, "unused", "β", "test error (%)")
    axis = figures[0].axes[0]
    assert axis.get_xscale() == "symlog"
    assert [tick.get_text() for tick in axis.get_xticklabels()] == ["0", "0.04", "0.4", "4"]
    # Evenly spread on the axis: β = 0.04 is as far from 0 (the linear part) as from 0.4, within a factor 3.
    positions = axis.transData.transform([(x, 0) for x in (0.0, 0.04, 0.4, 4.0)])[:, 0]
    gaps = np.diff(positions)
    assert gaps.min() > gaps.max() / 3
