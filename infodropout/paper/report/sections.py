"""The report's sections: per figure and table of the paper, what our runs measured (tables, figures), then the
judged claims of that figure (:mod:`infodropout.paper.report.claims`, judged once before the sections are written)
and its sanity checks (:func:`write_section`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from infodropout.paper.figures.titles import human_title
from infodropout.paper.report.claims import F1, F2, F3A, F3B6, F4, F5, T1
from infodropout.paper.report.measurements import FIGURE4_OVERFIT, FIGURE5_OVERFIT, PAPER_TABLE1
from infodropout.paper.report.estimate_section import independent_estimates
from infodropout.paper.report.opening import claims_table, sanity_table
from infodropout.paper.report.page import Report, grouped, has_column, occluded_title, paper_value
from infodropout.paper.report.preconditions import CHANCE_ERROR, DEAD_LIMIT
from infodropout.paper.report.size_measurements import PAPER_FC_RATE, rate_choice, rates_at_choice
from infodropout.paper.report.verdicts import Measured, over_seeds


def _text(value: Measured | None, digits: int = 2) -> str:
    return "n/a" if value is None else value.text(digits)


# ------------------------------------------------------------------------------------------------ figure 1

def figure1(report: Report) -> None:
    report.add("## Figure 1: post-noise activations of the last dropout layer against the prior", "")
    names = ("figure1-relu-train", "figure1-relu", "figure1-softplus")
    report.provenance(*names)
    report.missing("figure1-relu", "figure1-softplus")
    rows = []
    for name, label in (("figure1-relu", "ReLU, log-uniform prior"),
                        ("figure1-softplus", "Softplus, log-normal prior")):
        folder = report.folder(name)
        if folder is None or not (folder / "histogram.json").exists():
            continue
        s = json.loads((folder / "histogram.json").read_text())
        rows.append([label, s["log_z_mean"], s["log_z_std"], f"{100 * s['zero_fraction']:.1f}",
                     s.get("prior_mean", "– (flat in log z)"), s.get("prior_std", "–"),
                     *(f"{s[k]:.3f}" if k in s else "not measured"
                       for k in ("ks_uniform_central", "ks_normal", "skew", "excess_kurtosis")),
                     f"{s['train_error']:.1f}" if "train_error" in s else "not measured"])
        # The histogram's own title is the run's name as drawn then; the report's names the data set in words.
        report.figure(name, "histogram.png", label,
                      title=f"Figure 1: {human_title(folder.name)}, the last dropout layer's log z")
    if rows:
        report.table(["network", "mean of log z", "std of log z", "units at 0 (%)", "prior μ", "prior σ",
                      "KS to uniform (5–95 %)", "KS to normal", "skew", "excess kurtosis", "training error (%)"], rows)


# ------------------------------------------------------------------------------------------ figures 2 and 7

def figure2(report: Report) -> None:
    report.add("## Figures 2 and 7: Cluttered MNIST, KL heatmaps and localisation vs β", "")
    plotted = [step.name.removeprefix("figure2-beta") for step in report.plan.steps
               if step.name.startswith("figure2-beta")]
    results = report.opened("figure2-sweep", *(f"figure2-beta{b}" for b in plotted))
    if results is None:
        return
    betas = sorted({r["beta"] for r in results})
    layers = sorted({key.split(".")[0] for r in results for key in r if key.endswith(".mass_inside")})
    error, train = grouped(results, "error", ("beta",)), grouped(results, "train_error", ("beta",))

    def score(layer: str, b: float) -> str:
        parts = [_text(grouped(results, f"{layer}.{key}", ("beta",)).get((b,)), 3)
                 for key in ("mass_inside", "max_inside")]
        ink = grouped(results, f"{layer}.max_inside_ink", ("beta",)).get((b,))
        return " / ".join(parts) + (f" (ink {ink.text(3)})" if ink else "")

    report.add("Test and training error, and per dropout layer the share of the KL mass inside the digit's box / "
               "the share of test images whose map peaks inside it (and, where recorded, the same peak score on the "
               "input's own ink at the layer's resolution: the baseline a map of the ink alone reaches):", "")
    report.table(["β", "test error (%)", "training error (%)"] + layers,
                 [[f"{b:g}", _text(error.get((b,))), _text(train.get((b,))) if has_column(results, "train_error")
                   else "not measured"] + [score(layer, b) for layer in layers] for b in betas])
    report.add("In the heatmaps each layer's column has its own colour scale (the 1st–99th percentile of its KL in "
               "that figure, its colour bar under it), so that every β shows its structure: compare magnitudes "
               "across β by the bars' numbers, not by colour. Beside each row, the true digit and the prediction; "
               "the cyan rectangle is the target digit's box; the last row is a blank canvas, whose maps show what "
               "the zero padding of the SAME convolutions draws alone. The heatmaps are seed 0's.", "")
    for beta in plotted:
        report.figure(f"figure2-beta{beta}", "heatmaps.png", f"KL heatmaps at β = {beta}")


# ------------------------------------------------------------------------------------------------ figure 3a

def figure3a(report: Report) -> None:
    report.add("## Figure 3a: MNIST, fully connected network, error vs hidden units", "")
    results = report.opened("figure3a")
    if results is None:
        return
    methods = [m for m in ("information", "binary", "lognormal", "none") if any(r["dropout"] == m for r in results)]
    widths = sorted({r["width"] for r in results})
    error = grouped(results, "error", ("dropout", "width"))
    train = grouped(results, "train_error", ("dropout", "width"))
    seeds = len({r.get("seed", 0) for r in results})
    report.add(f"Test error (%), mean ± sample standard deviation (n − 1) over {seeds} seed(s)"
               + (", with the training error after the slash" if has_column(results, "train_error") else "") + ":", "")
    report.table(["hidden units"] + methods,
                 [[w] + [_text(error.get((m, w))) + (f" / {_text(train.get((m, w)))}" if train.get((m, w)) else "")
                         for m in methods] for w in widths])
    report.figure("figure3a", "figure3a.png", "Figure 3a")
    dead = {(m, w): max((r["dead_fraction_max"] for r in results if r["dropout"] == m and r["width"] == w
                         and r.get("dead_fraction_max") is not None), default=None) for m in methods for w in widths}
    if any(v is not None for v in dead.values()):
        report.add(f"Dead units (%): the share of a layer's ReLU units that output 0 on each of 1,000 training "
                   f"images, worst layer and seed. Above {DEAD_LIMIT:.0%} a method's error reflects an optimisation "
                   "failure (those units get no gradient again), not a regularisation effect: where a method a claim "
                   "compares has one, the claim is judged at every method's and width's learning rate chosen on "
                   "held-out training images (below; both are shown), and without a choice such a width is left "
                   "out of the comparison.", "")
        report.table(["hidden units"] + methods,
                     [[w] + ["n/a" if dead[m, w] is None else f"{100 * dead[m, w]:.1f}" for m in methods]
                      for w in widths])
    layers = sorted({key.rsplit(".", 1)[0] for r in results for key in r if key.endswith(".alpha_mean")})
    if layers:
        alpha = {layer: grouped(results, f"{layer}.alpha_mean", ("dropout", "width")) for layer in layers}
        report.add("Information Dropout's mean α per layer (noise off, on 1,000 training images), mean ± sample "
                   "standard deviation over seeds: how much noise each layer learned to add at each width:", "")
        report.table(["hidden units"] + layers,
                     [[w] + [_text(alpha[layer].get(("information", w)), 3) for layer in layers] for w in widths])
    _learning_rate_choice(report, error, dead)


def _learning_rate_choice(report: Report, error: dict, dead: dict) -> None:
    """Figure 3a's methods at the learning rates chosen on held-out training images (step figure3a-lr): for each
    method and width, the validation error at every rate tried, the rate chosen, and the test error at it beside
    the paper's rate's."""
    if "figure3a-lr" not in report.steps:
        return
    report.add("### Learning rates chosen on held-out training images", "")
    report.provenance("figure3a-lr")
    if report.missing("figure3a-lr"):
        return
    results, choice = report.results("figure3a-lr"), rate_choice(report)
    chosen = rates_at_choice(choice, results)
    if not chosen:
        report.add("*(no choice.json in the step's folder)*", "")
        return
    trials = [r for r in results if r.get("validation")]
    rates = sorted({r["learning_rate"] for r in trials}, reverse=True)
    report.add(f"Each method and width trained once a rate (seed {choice['seed']}) on the training images less the "
               f"last {choice['validation']:,}, and was scored on those (the test set plays no part); the rate with "
               "the lowest validation error was chosen (dead units, in brackets, recorded but not used to choose), "
               f"then trained on the whole training set and tested, as figure 3a's runs. Test error (%), mean ± "
               "sample standard deviation over seeds, and the worst dead-unit share (%) over layers and seeds:", "")

    def validation(method: str, width: int, rate: float) -> str:
        run = next((r for r in trials if r.get("dropout", choice.get("dropout")) == method
                    and r.get("width", choice.get("width")) == width and r["learning_rate"] == rate), None)
        return "–" if run is None else f"{run['validation_error']:.2f} ({100 * run['dead_fraction_max']:.0f})"

    rows = []
    for (method, width), (rate, errors, worst) in sorted(chosen.items(), key=lambda item: (item[0][1], item[0][0])):
        at_paper = error.get((method, width))
        rows.append([method, width] + [validation(method, width, r) for r in rates]
                    + [f"**{rate:g}**", _text(over_seeds(errors.values())), f"{100 * worst:.1f}",
                       "n/a" if at_paper is None else str(at_paper),
                       "n/a" if dead.get((method, width)) is None else f"{100 * dead[method, width]:.1f}"])
    report.table(["method", "hidden units"] + [f"validation error at {r:g} (dead)" for r in rates]
                 + ["chosen rate", "test error at it", "dead units at it",
                    f"test error at {PAPER_FC_RATE} (figure 3a)", f"dead units at {PAPER_FC_RATE}"], rows)


# -------------------------------------------------------------------------------------------------- Table I

LATENT_LABELS = {"gaussian": "Gaussian", "information": "Information, log-uniform",
                 "information-log-normal": "Information, log-normal"}


def table1(report: Report) -> None:
    report.add("## Table I: VAE on binarised MNIST, test variational lower bound (nats per image)", "")
    report.provenance("table1", "table1-log-normal")
    results = list(report.results("table1") or [])
    results += [{**r, "latent": "information-log-normal"} for r in report.results("table1-log-normal") or []]
    if report.missing("table1") or not results:
        return
    ks = sorted({r["k"] for r in results})
    latents = [latent for latent in LATENT_LABELS if any(r["latent"] == latent for r in results)]
    bound = {(latent, k): over_seeds(r["elbo"] for r in results if r["latent"] == latent and r["k"] == k)
             for latent in latents for k in ks}
    seeds = {(latent, k): len([r for r in results if r["latent"] == latent and r["k"] == k])
             for latent in latents for k in ks}
    report.add("Ours: the bound E log p(x|z) − KL on the test images (z drawn from q(z|x)), mean ± the sample "
               "standard deviation over seeds (seeds per cell in brackets). The paper's Information column is "
               "compared with our Information latent with Softplus and a learned log-normal prior, whose KL is a "
               "proper one; with the paper's log-uniform prior the KL is only defined up to a constant (an improper "
               "prior), so that column is not a bound and not comparable.", "")

    def value(latent: str, k: int) -> str:
        m = bound.get((latent, k))
        return "n/a" if m is None else f"{m.text(1)} ({seeds[latent, k]})"

    report.table(["k", "Gaussian (ours)", "Gaussian (paper)", "Information, log-normal (ours)",
                  "Information (paper)", "Information, log-uniform (ours; not a bound)"],
                 [[k, value("gaussian", k), paper_value(PAPER_TABLE1["gaussian"].get(k)),
                   value("information-log-normal", k), paper_value(PAPER_TABLE1["information"].get(k)),
                   value("information", k)] for k in ks])
    stopping = [r for r in results if "best_epoch" in r]
    if stopping:
        held_out = sorted({r["validation"] for r in stopping})
        report.add(f"Each run trained until the bound on {', '.join(map(str, held_out))} held-out *training* images "
                   "(never test images) had not improved for the run's patience, or to its epoch limit; the "
                   "checkpoint, and so the test bound, is the best validation epoch's. When each run stopped:", "")
        rows = []
        for r in sorted(stopping, key=lambda r: (latents.index(r["latent"]), r["k"], r.get("seed", 0))):
            limit = r["last_epoch"] >= r["max_epochs"] and r["best_epoch"] == r["last_epoch"]
            reason = "epoch limit, still improving" if limit else \
                "epoch limit" if r["last_epoch"] >= r["max_epochs"] else "patience ran out"
            rows.append([LATENT_LABELS[r["latent"]], r["k"], r.get("seed", 0), r["best_epoch"], r["last_epoch"],
                         r["max_epochs"], f"{r['curve'][-1]['val_elbo']:.1f}" if r.get("curve") else "n/a", reason])
        report.table(["latent", "k", "seed", "best epoch", "epochs trained", "epoch limit", "last validation bound",
                      "ended by"], rows)
        drawn = [r for r in sorted(stopping, key=lambda r: (r["k"], latents.index(r["latent"]), r.get("seed", 0)))
                 if r.get("curve")]
        if drawn:
            from infodropout.paper.figures.learning_curves import Curve, plot_learning_curves

            # The log-uniform prior ("information") is improper: its curve is not a bound.
            curves = [Curve(series=LATENT_LABELS[r["latent"]], panel=f"k = {r['k']}", records=r["curve"],
                            best_epoch=r["best_epoch"], bound=r["latent"] != "information") for r in drawn]
            [path] = plot_learning_curves(curves, report.figures / "table1-learning-curve")
            report.drawn(path, "VAE learning curves: validation bound per epoch")
    trained = sorted({r["train_images"] for r in results if "train_images" in r})
    if trained:
        report.add(f"The paper trains on MNIST's 60,000 training digits for 300 epochs; these runs on "
                   f"{', '.join(f'{n:,}' for n in trained)}: on so few digits a VAE generalises worse, so the bounds "
                   "are not the paper's (T1abs below).", "")
    report.figure("vae-samples-gaussian", "samples.png", "VAE samples, Gaussian latent")
    report.figure("vae-samples-information", "samples.png", "VAE reconstructions, Information latent")


# ------------------------------------------------------------------------------------------ figures 3b and 6

def figure3b_6(report: Report) -> None:
    report.add("## Figures 3b and 6: All-CNN-32 (Softplus) vs the share of the filters", "")
    results = report.opened("figure3b-6")
    if results is None:
        return
    methods = [m for m in ("information", "binary", "none") if any(r["dropout"] == m for r in results)]
    shares = sorted({r["filter_percentage"] for r in results})
    error = grouped(results, "error", ("dropout", "filter_percentage"))
    train = grouped(results, "train_error", ("dropout", "filter_percentage"))
    report.add("Figure 3b, test error (%)" + (" / training error (%)" if has_column(results, "train_error") else "")
               + ":", "")
    report.table(["share of the filters"] + methods,
                 [[f"{s:g}"] + [_text(error.get((m, s))) + (f" / {_text(train.get((m, s)))}"
                                                            if train.get((m, s)) else "") for m in methods]
                  for s in shares])
    report.figure("figure3b-6", "figure3b.png", "Figure 3b")
    information = [r for r in results if r["dropout"] == "information"]
    info_shares = sorted({r["filter_percentage"] for r in information})
    layers = sorted({key.rsplit(".", 1)[0] for r in information for key in r if key.endswith(".total")})
    kl = {(layer, measure): grouped(information, f"{layer}.{measure}", ("filter_percentage",))
          for layer in layers for measure in ("total", "per_unit")}
    report.add("Figure 6, information (KL, nats per image) through each dropout layer, in total and per unit:", "")
    report.table(["share of the filters"] + [f"{layer} total" for layer in layers]
                 + [f"{layer} per unit" for layer in layers],
                 [[f"{s:g}"] + [_text(kl[layer, "total"].get((s,))) for layer in layers]
                  + [_text(kl[layer, "per_unit"].get((s,))) for layer in layers] for s in info_shares])
    report.figure("figure3b-6", "figure6-total.png", "Figure 6a")
    report.figure("figure3b-6", "figure6-per_unit.png", "Figure 6b")


# ------------------------------------------------------------------------------------------------- figure 5

def _beta_table(report: Report, results: Sequence[dict], columns: Sequence[tuple[str, str]]) -> None:
    """One row per β (β = 0 first where run): each column's mean ± s over seeds, "not measured" where absent."""
    betas = sorted({r["beta"] for r in results})
    by_beta = {key: grouped(results, key, ("beta",)) for key, _ in columns}
    report.table(["β"] + [label for _, label in columns],
                 [[f"{b:g}"] + [_text(by_beta[key].get((b,))) if has_column(results, key) else "not measured"
                         for key, _ in columns] for b in betas])


def figure5(report: Report) -> None:
    report.add("## Figure 5: test error and total correlation vs β (All-CNN-32, Softplus)", "")
    results = report.opened("figure5")
    if results is None:
        return
    _beta_table(report, results, [("error", "test error (%)"), ("train_error", "training error (%)"),
                                  ("total_correlation", "total correlation per unit, bias-corrected (nats)"),
                                  ("total_correlation_raw", "raw plug-in value"),
                                  ("total_correlation_bias", "bias of the raw value")])
    report.add("The total correlation is the Gaussian log-determinant estimate on the test set's log activations; "
               "its plug-in value is biased upward by an amount fixed by the numbers of samples and units "
               "(`total_correlation_bias`, exact for Gaussian data), which is subtracted.", "")
    report.figure("figure5", "figure5-error.png", "Figure 5, test error")
    report.figure("figure5", "figure5-tc.png", "Figure 5, total correlation")
    _overfit_setting(report, FIGURE5_OVERFIT[0], [("error", "test error (%)"), ("train_error", "training error (%)")])


def _overfit_setting(report: Report, step: str, columns: Sequence[tuple[str, str]]) -> None:
    """The data-limited setting where the β = 0 run overfits, where the plan has one."""
    if step not in report.steps:
        return
    report.add(f"### The overfitting setting ({step})", "")
    results = report.opened(step)
    if results is None:
        return
    report.add("Fewer training images and more epochs, so that the β = 0 run overfits: the regularisation claims "
               "are judged here.", "")
    _beta_table(report, results, columns)


# ------------------------------------------------------------------------------------------------- figure 4

FIGURE4_COLUMNS = [("main_error_N", "main task, noisy N (%)"), ("main_error_D", "main task, deterministic D (%)"),
                   ("main_train_error_D", "main task training error D (%)"), ("nuisance_error", "nuisance digit (%)"),
                   ("nuisance_train_error", "nuisance probe training error (%)"),
                   ("nuisance_error_random", "nuisance, random network (%)")]


def figure4(report: Report) -> None:
    report.add(f"## Figure 4: {occluded_title(report)}, main task and nuisance error vs β", "")
    if "figure4" in report.plan.skipped:
        report.add(f"Not run at this scale: {report.plan.skipped['figure4']}.", "")
        return
    results = report.opened("figure4")
    if results is None:
        return
    if occluded_title(report) == "Occluded Fashion-MNIST":
        report.add("Each Fashion-MNIST image (the main task: its clothing class) is occluded by an MNIST digit (the "
                   "nuisance), drawn as the paper's Occluded CIFAR occluders are; the nuisance error is that of a "
                   "classifier of the digit trained on the frozen noisy representation.", "")
    _beta_table(report, results, FIGURE4_COLUMNS)
    report.add(f"For scale: a classifier that ignores the digit errs on {CHANCE_ERROR:.0f} % of the images (10 "
               "digits); the random network's column is the same probe on a randomly initialised network's "
               "representation.", "")
    report.figure("figure4", "figure4.png", "Figure 4")
    _overfit_setting(report, FIGURE4_OVERFIT[0], FIGURE4_COLUMNS[:3])


SECTIONS: tuple[tuple[str, Callable[[Report], None]], ...] = (
    (F1, figure1), (F2, figure2), (F3A, figure3a), (F3B6, figure3b_6), (F4, figure4), (F5, figure5), (T1, table1),
    ("Independent estimates", independent_estimates),
)


def write_section(report: Report, title: str) -> None:
    """Section ``title``: what the runs measured, closed, whatever it found, by the figure's judged claims and its
    sanity checks."""
    dict(SECTIONS)[title](report)
    claims_table(report, title)
    sanity_table(report, title)
