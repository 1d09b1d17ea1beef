"""The report's section on the independent estimates: per experiment, the probe sweeps' estimates (probes, MINE,
NDM, and any other estimator the results carry) against β, beside each layer's KL, and the checks judged on them."""

from __future__ import annotations

from infodropout.paper.figures.titles import human_title
from infodropout.paper.report.opening import sanity_table
from infodropout.paper.report.page import Report, has_column, occluded_title
from infodropout.paper.report.verdicts import finite


def _estimate(r: dict, key: str, digits: int = 3) -> str:
    value, stderr = r.get(key), r.get(f"{key}_stderr")
    if key not in r:
        return "not measured"
    if not finite(value):
        return "failed estimate" + (f" ({r[f'{key}_reason']})" if r.get(f"{key}_reason") else "")
    text = f"{value:.{digits}f}" + (f" ± {stderr:.{digits}f}" if finite(stderr) else "")
    # An estimate its estimator flagged (not converged, at its ceiling) is shown, marked, never used as valid.
    return text + (f" [invalid: {r.get(f'{key}_reason') or 'flagged'}]" if r.get(f"{key}_valid") is False else "")


ESTIMATE_LABELS = {"mi_task": "MINE I(z; y)", "mi_nuisance": "MINE I(z; nuisance)", "ndm": "NDM",
                   "ba_task": "Barber–Agakov I(z; y)", "ba_nuisance": "Barber–Agakov I(z; nuisance)",
                   "infonce_task": "InfoNCE I(z; y)", "infonce_nuisance": "InfoNCE I(z; nuisance)"}


def _estimate_label(key: str) -> str:
    """``N.mi_task`` as "I(z; y) N"; a key of another estimator as it is."""
    mode, _, name = key.rpartition(".")
    return ESTIMATE_LABELS.get(name, name) + (f" {mode}" if mode else "")


def _error(r: dict, key: str) -> str:
    return f"{r[key]:.1f}" if finite(r.get(key)) else "not measured" if key not in r else "failed"


def independent_estimates(report: Report) -> None:
    """Per experiment, the probe sweeps' estimates (probes, MINE, NDM, and whatever other estimator the results
    carry) against β, beside the paper's own quantities; failed estimates are named as such."""
    report.add("## Independent estimates: probes, MINE and NDM vs β", "",
               "Estimators that share none of the paper's assumptions (infodropout.estimators): linear and MLP "
               "probes trained on the frozen last dropout layer's output z (held-out error), mutual-information "
               "lower bounds of I(z; y) and I(z; nuisance), the neural dependency measure (NDM), and per dropout "
               "layer a MINE lower bound of I(x; z) beside the layer's KL, which bounds it from above. N: noisy "
               "representation; D: deterministic. ± is an estimate's standard error over evaluation batches; "
               "*failed estimate*: not a number (the estimator diverged).", "")
    occluded = occluded_title(report)
    for name, title in (("probes-figure5", "All-CNN-32, Softplus (figure 5's runs)"),
                        ("probes-figure4", f"{occluded} (figure 4's runs)"),
                        ("probes-figure2", "Cluttered MNIST (figures 2 and 7's runs)")):
        if name not in report.steps:
            continue
        report.add(f"### {title}", "")
        report.provenance(name)
        results = report.results(name)
        if report.missing(name) or results is None:
            continue
        results = sorted(results, key=lambda r: r["beta"])
        nuisance = has_column(results, "N.linear_nuisance_error")
        layers = sorted({key[:-len(".kl")] for r in results for key in r if key.endswith(".kl")})
        # Every estimate the rows carry with a standard error (MINE, NDM, and any other), the per-layer ones apart.
        estimates = sorted({key[:-len("_stderr")] for r in results for key in r if key.endswith("_stderr")
                            and key.split(".")[0] not in layers})
        header = ["β", "linear / MLP task error N (%)", "linear / MLP task error D (%)"]
        header += ["linear / MLP nuisance error N (%)"] if nuisance else []
        header += [f"{_estimate_label(key)} (nats)" for key in estimates]
        rows = []
        for r in results:
            row = [f"{r['beta']:g}", f"{_error(r, 'N.linear_task_error')} / {_error(r, 'N.mlp_task_error')}",
                   f"{_error(r, 'D.linear_task_error')} / {_error(r, 'D.mlp_task_error')}"]
            if nuisance:
                row.append(f"{_error(r, 'N.linear_nuisance_error')} / {_error(r, 'N.mlp_nuisance_error')}")
            rows.append(row + [_estimate(r, key) for key in estimates])
        report.table(header, rows)
        if layers:
            report.add("Per dropout layer, KL (nats per image; an upper bound of I(x; z)) / MINE lower bound of "
                       "I(f(x); z) ≤ I(x; z) (nats):", "")
            report.table(["β"] + layers,
                         [[f"{r['beta']:g}"] + [f"{r[f'{layer}.kl']:.2f} / {_estimate(r, f'{layer}.mine_x_z')}"
                                                for layer in layers] for r in results])
        # The probes' figures were drawn with the bare experiment's name as their title: the data set in words.
        folder = report.folder(name)
        runs = human_title(folder.name) if folder is not None else title
        report.figure(name, "ndm.png", f"NDM vs β, {title}", title=f"NDM vs β: {runs}")
        report.figure(name, "kl-vs-mine.png", f"KL vs MINE per layer, {title}", title=f"KL vs MINE per layer: {runs}")
        sanity_table(report, name)
