"""Report sections read from hand-made results: figure 3a's dead-unit table and flags, figure 5's bias columns."""
import json

from infodropout.paper.report import Report, figure3a, figure5, table1
from infodropout.paper.reproduce import make_plan


def report_with(tmp_path, step: str, results: list[dict]) -> Report:
    plan = make_plan("tiny", cifar10=False)
    folder = tmp_path / "work" / step / "sweep"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results))
    (tmp_path / "work" / "steps.json").write_text(json.dumps({step: {"status": "done", "argv": ["x"], "seconds": 1, "finished": "now"}}))
    return Report(plan, tmp_path / "work", tmp_path / "out")


def test_figure3a_flags_a_comparison_where_a_method_has_dead_units(tmp_path):
    results = [{"dropout": m, "width": w, "seed": 0, "error": e, "dead_fraction_max": d}
               for m, w, e, d in [("information", 32, 10.0, 0.0), ("binary", 32, 25.9, 12 / 32),
                                  ("none", 32, 9.0, 0.0), ("information", 128, 5.0, 0.0),
                                  ("binary", 128, 6.0, 0.05), ("none", 128, 4.5, 0.0)]]
    report = report_with(tmp_path, "figure3a", results)
    tally = figure3a(report)
    text = "\n".join(report.lines)
    assert "| 32 | 0.0 | 37.5 | 0.0 |" in text  # the dead-unit table, worst layer, in %
    binary = next(line for line in text.splitlines() if line.startswith("| Information Dropout has a lower error than binary"))
    assert "at 32 units a method has more than 10% dead units" in binary and "128 units" not in binary
    none = next(line for line in text.splitlines() if line.startswith("| Information Dropout has a lower error than no"))
    assert "+1.00 at 32, +0.50 at 128" in none and "dead units" not in none
    # One seed: no spread is known, so no comparison can hold or fail.
    assert tally == {"holds": 0, "fails": 0, "inconclusive": 3}


def test_figure3a_verdicts_over_seeds_hold_fail_or_are_inconclusive_by_the_spread(tmp_path):
    # information beats binary by 10 points with a spread of about 1.4 (holds); none beats information by 2
    # points with a spread of about 1.4 (fails); lognormal is 0.5 above information, inside the spread.
    errors = {"information": [9.0, 10.0, 11.0], "binary": [19.0, 20.0, 21.0], "none": [7.0, 8.0, 9.0],
              "lognormal": [9.5, 10.5, 11.5]}
    results = [{"dropout": m, "width": 64, "seed": seed, "error": e, "dead_fraction_max": 0.0}
               for m, values in errors.items() for seed, e in enumerate(values)]
    report = report_with(tmp_path, "figure3a", results)
    assert figure3a(report) == {"holds": 1, "fails": 1, "inconclusive": 1}
    verdicts = {entry["claim"]: entry["verdict"] for entry in report.verdicts}
    assert verdicts["Information Dropout has a lower error than binary dropout"] == "holds"
    assert verdicts["Information Dropout has a lower error than no dropout"] == "fails"
    assert verdicts["Information Dropout beats constant log-normal noise of the same variance"] == "inconclusive"
    assert "| 64 | 10.00 ± 1.00 | 20.00 ± 1.00 |" in "\n".join(report.lines)  # sample std (n − 1)


def test_figure5_shows_the_corrected_total_correlation_with_its_bias(tmp_path):
    results = [{"beta": b, "error": 5.0 + b, "total_correlation": tc, "total_correlation_raw": tc + 0.28,
                "total_correlation_bias": 0.28} for b, tc in [(0.1, 0.3), (0.3, 0.2), (1.0, 0.1)]]
    report = report_with(tmp_path, "figure5", results)
    figure5(report)
    text = "\n".join(report.lines)
    assert "bias of the raw value" in text and "| 0.30 | 5.30 | 0.20 | 0.48 | 0.28 |" in text


def report_with_steps(tmp_path, steps: dict[str, list[dict]]) -> Report:
    ledger = {}
    for step, results in steps.items():
        folder = tmp_path / "work" / step / "sweep"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(results))
        ledger[step] = {"status": "done", "argv": ["x"], "seconds": 1, "finished": "now"}
    (tmp_path / "work" / "steps.json").write_text(json.dumps(ledger))
    return Report(make_plan("tiny", cifar10=False), tmp_path / "work", tmp_path / "out")


def vae_result(latent, elbo, best, last, limit=50):
    curve = [{"epoch": e, "elbo": elbo + 5 - e / 10, "val_elbo": elbo - abs(e - best)} for e in range(1, last + 1)]
    return {"k": 1, "latent": latent, "elbo": elbo, "reconstruction": elbo + 20, "kl": 20.0, "best_epoch": best,
            "last_epoch": last, "max_epochs": limit, "validation": 1000, "train_images": 7000, "curve": curve}


def test_table1_compares_the_log_normal_latent_says_when_each_run_stopped_and_draws_the_curves(tmp_path):
    report = report_with_steps(tmp_path, {
        "table1": [vae_result("gaussian", -104.3, 30, 35), vae_result("information", -90.0, 50, 50)],
        "table1-log-normal": [vae_result("information", -107.0, 41, 46)],
    })
    tally = table1(report)
    text = "\n".join(report.lines)
    # The log-normal latent sits beside the paper's Information column; the log-uniform one is set apart.
    assert "| k | Gaussian (ours) | Gaussian (paper) | Information, log-normal (ours) | Information (paper) |" in text
    assert "| 1 | -104.3 | -98.8 | -107.0 | -100.0 | -90.0 |" in text
    assert "| Gaussian | 1 | 30 | 35 | 50 | -109.3 | patience ran out |" in text
    assert "| Information, log-uniform | 1 | 50 | 50 | 50 | -90.0 | epoch limit, still improving |" in text
    assert "| Information, log-normal | 1 | 41 | 46 | 50 | -112.0 | patience ran out |" in text
    assert "Gaussian -5.5 (k = 1), Information, log-normal -7.0 (k = 1)" in text
    assert "trains on 7,000 digits (1,000 more held out for validation)" in text and "had not even converged" in text
    # At the kept epoch, training bound (elbo + 5 − best/10 here) minus validation bound (elbo).
    assert "Gaussian +2.0 (k = 1), Information, log-uniform +0.0 (k = 1), Information, log-normal +0.9 (k = 1)" in text
    # The report draws into its own scale's figures folder (the tiny plan's: figures-tiny), never the small report's.
    figure = tmp_path / "out" / "figures-tiny" / "table1-learning-curve.png"
    assert figure.exists() and figure.stat().st_size > 10_000 and figure in report.copied
    assert "](figures-tiny/table1-learning-curve.png)" in text and not (tmp_path / "out" / "figures").exists()
    assert tally == {"holds": 0, "fails": 2, "inconclusive": 0}  # −2.7 nats between the latents; −5.5 from the paper


def test_table1_without_early_stopping_has_no_curve_or_stopping_table(tmp_path):
    plain = {"k": 1, "latent": "gaussian", "elbo": -99.5, "reconstruction": -75.0, "kl": 24.5}
    report = report_with_steps(tmp_path, {"table1": [plain]})
    tally = table1(report)
    text = "\n".join(report.lines)
    assert "best epoch" not in text and not (tmp_path / "out" / "figures-tiny" / "table1-learning-curve.png").exists()
    assert "Gaussian -0.7 (k = 1)" in text and "held out" not in text and "Training bound minus" not in text
    assert tally == {"holds": 1, "fails": 0, "inconclusive": 0}


def test_figure3a_shows_binary_dropout_at_the_paper_rate_and_at_the_rate_chosen_on_validation(tmp_path):
    figure3a_results = [{"dropout": m, "width": 32, "seed": s, "error": e + s, "dead_fraction_max": d}
                        for m, e, d in [("information", 10.0, 0.0), ("binary", 25.0, 12 / 32)] for s in (0, 1)]
    trials = [{"learning_rate": r, "validation": 1000, "seed": 0, "error": 99.0, "validation_error": v,
               "dead_fraction_max": d} for r, v, d in [(0.07, 24.0, 0.375), (0.02, 13.0, 0.03), (0.01, 12.0, 0.0)]]
    tests = [{"learning_rate": 0.01, "validation": 0, "seed": s, "error": 12.0 + s, "dead_fraction_max": 0.0}
             for s in (0, 1)]
    report = report_with_steps(tmp_path, {"figure3a": figure3a_results, "figure3a-lr": trials + tests})
    (tmp_path / "work" / "figure3a-lr" / "sweep" / "choice.json").write_text(json.dumps(
        {"chosen": 0.01, "dropout": "binary", "width": 32, "validation": 1000, "seed": 0,
         "all_rates_kill_units": False, "rule": "the lowest validation error among the rates ..."}))
    tally = figure3a(report)
    text = "\n".join(report.lines)
    assert "| 0.07 | 24.00 | 37.5 |" in text and "| 0.01 | 12.00 | 0.0 |" in text  # the choice, on validation
    assert "Chosen: **0.01**" in text and "less the last 1,000" in text
    assert "| 0.07 (the paper's; figure 3a) | 25.50 ± 0.71 | 37.5 |" in text
    assert "| 0.01 (chosen) | 12.50 ± 0.71 | 0.0 |" in text
    claim = next(line for line in text.splitlines() if "at binary's chosen learning rate" in line)
    assert "information 10.50 ± 0.71 % (at 0.07) vs binary 12.50 ± 0.71 % (at 0.01)" in claim and claim.endswith("| **holds** |")
    assert tally == {"holds": 2, "fails": 0, "inconclusive": 0}  # binary at 0.07 and at the chosen rate (one width: no gap trend)


def test_figure3a_when_the_paper_rate_is_chosen_shows_it_once_and_adds_no_claim(tmp_path):
    figure3a_results = [{"dropout": m, "width": 32, "seed": 0, "error": e, "dead_fraction_max": 0.0}
                        for m, e in [("information", 10.0), ("binary", 11.0)]]
    trials = [{"learning_rate": r, "validation": 1000, "seed": 0, "error": 99.0, "validation_error": v,
               "dead_fraction_max": 0.0} for r, v in [(0.07, 11.0), (0.01, 12.0)]]
    final = [{"learning_rate": 0.07, "validation": 0, "seed": 0, "error": 11.0, "dead_fraction_max": 0.0}]
    report = report_with_steps(tmp_path, {"figure3a": figure3a_results, "figure3a-lr": trials + final})
    (tmp_path / "work" / "figure3a-lr" / "sweep" / "choice.json").write_text(json.dumps(
        {"chosen": 0.07, "dropout": "binary", "width": 32, "validation": 1000, "seed": 0, "rule": "..."}))
    tally = figure3a(report)
    text = "\n".join(report.lines)
    assert "| 0.07 (the paper's; figure 3a), chosen | 11.00 | 0.0 |" in text and "(chosen) |" not in text
    # One seed per method: the comparison at the paper's rate is inconclusive, and no second claim is added.
    assert "chosen learning rate" not in text and tally == {"holds": 0, "fails": 0, "inconclusive": 1}


def test_the_report_opens_with_each_claims_verdict_at_every_scale_in_its_folder(tmp_path):
    from infodropout.paper.report import write_report

    out = tmp_path / "out"
    out.mkdir()
    claim = "total correlation falls as β grows"
    (out / "claims-small.json").write_text(json.dumps([{"section": "Figure 5", "claim": claim, "verdict": "fails"},
                                                       {"section": "Table I", "claim": "only small", "verdict": "holds"}]))
    seeds = [{"beta": b, "seed": s, "error": 5.0, "total_correlation": tc + 0.01 * s, "total_correlation_raw": tc,
              "total_correlation_bias": 0.2} for b, tc in [(0.1, 0.9), (0.3, 0.5), (1.0, 0.1)] for s in (0, 1, 2)]
    report_with(tmp_path, "figure5", seeds)
    path = write_report(make_plan("tiny", cifar10=False), tmp_path / "work", out)
    assert path.name == "REPORT-tiny.md"
    text = path.read_text()
    assert "| section | the paper's claim | tiny scale | small scale |" in text  # the scales in SCALES' order
    assert f"| Figure 5 | {claim} | holds | fails |" in text
    assert "| Table I | only small | – | holds |" in text
    saved = json.loads((out / "claims-tiny.json").read_text())
    assert {"section": "Figure 5", "claim": claim, "verdict": "holds"} in saved
