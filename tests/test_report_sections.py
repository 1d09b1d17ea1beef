"""The report's claims judged on hand-made results: preconditions, verdicts by standard errors, the sections."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from infodropout.paper.report.claims import CLAIMS, F3A, F4, F5, SANITY, T1, judge, judge_all
from infodropout.paper.report.page import Report
from infodropout.paper.reproduction.plans import make_plan
from infodropout.paper.report.sections import write_section

ROOT = Path(__file__).resolve().parents[1]


def report_with_steps(tmp_path, steps: dict[str, list[dict]], cifar10: bool = False, scale: str = "tiny") -> Report:
    ledger = {}
    for step, results in steps.items():
        folder = tmp_path / "work" / step / "sweep"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(results))
        ledger[step] = {"status": "done", "argv": ["x.py", "patience=10"], "seconds": 1, "finished": "now"}
    (tmp_path / "work" / "steps.json").write_text(json.dumps(ledger))
    return Report(make_plan(scale, cifar10=cifar10), tmp_path / "work", tmp_path / "out")


def verdict(report: Report, claim_id: str):
    return judge(next(c for c in CLAIMS + SANITY if c.id == claim_id), report)


def fc_rows(errors: dict, train=5.0, dead=0.0, width=64):
    return [{"dropout": m, "width": width, "seed": seed, "error": e, "train_error": train, "dead_fraction_max": dead}
            for m, values in errors.items() for seed, e in enumerate(values)]


def test_figure3a_verdicts_by_welch_standard_errors(tmp_path):
    # information beats binary by 10 points (SE 0.82): holds; none beats information by 4 points: fails;
    # lognormal is 0.5 above information, well inside the interval.
    errors = {"information": [9.0, 10.0, 11.0], "binary": [19.0, 20.0, 21.0], "none": [5.0, 6.0, 7.0],
              "lognormal": [9.5, 10.5, 11.5]}
    report = report_with_steps(tmp_path, {"figure3a": fc_rows(errors)})
    assert verdict(report, "3a1").verdict == "holds"
    assert verdict(report, "3a4").verdict == "fails"
    assert verdict(report, "3a3").verdict == "inconclusive"
    judgement = verdict(report, "3a1")
    assert "-10.00 ± 0.82 SE, 95 % CI [-12.27, -7.73] at 64" in judgement.measured  # t(4) = 2.776
    assert all(c.met for c in judgement.conditions)
    report.judgements = judge_all(report)
    write_section(report, F3A)
    text = "\n".join(report.lines)
    assert "| 64 | 10.00 ± 1.00 / 5.00 ± 0.00 | 20.00 ± 1.00 / 5.00 ± 0.00 |" in text  # test / training error
    assert "| 3a4 (added) |" in text and "| 3a1 |" in text


def test_a_claim_whose_networks_did_not_learn_or_did_not_record_it_is_not_testable(tmp_path):
    errors = {"information": [60.0, 61.0, 62.0], "binary": [80.0, 81.0, 82.0]}
    report = report_with_steps(tmp_path, {"figure3a": fc_rows(errors, train=58.0)})
    judgement = verdict(report, "3a1")
    assert judgement.verdict == "not testable here"
    # The reason names the run that missed the bound, and the bound.
    assert judgement.reason.startswith("learned: not met (information, 64 units, seed 0: training error 58.0 % > "
                                       "bound 45 %")
    assert "-20.00" in judgement.measured  # what was measured is still shown
    rows = [{k: v for k, v in r.items() if k != "train_error"} for r in fc_rows(errors)]
    (tmp_path / "work" / "figure3a" / "sweep" / "results.json").write_text(json.dumps(rows))
    judgement = verdict(report, "3a1")
    assert judgement.verdict == "not testable here" and judgement.reason.startswith("learned: not measured")


def test_an_optimisation_failure_moves_figure3a_to_the_chosen_rates_or_leaves_the_width_out(tmp_path):
    rows = fc_rows({"information": [10.0, 10.5, 11.0], "binary": [25.0, 26.0, 27.0]}, width=32)
    for r in rows:
        r["dead_fraction_max"] = 0.375 if r["dropout"] == "binary" else 0.0
    rows += fc_rows({"information": [5.0, 5.2, 5.4], "binary": [6.0, 6.2, 6.4]}, width=128)
    # At the chosen rates: information 0.07 at both widths, binary 0.01 at 32 units and 0.07 at 128.
    chosen = {("information", 32): 0.07, ("binary", 32): 0.01, ("information", 128): 0.07, ("binary", 128): 0.07}
    final = {("information", 32): [10.0, 10.5, 11.0], ("binary", 32): [12.0, 13.0, 14.0],
             ("information", 128): [5.0, 5.2, 5.4], ("binary", 128): [5.1, 5.3, 5.5]}
    trials = [{"dropout": m, "width": w, "learning_rate": rate, "validation": 1000, "seed": 0, "error": 99.0,
               "train_error": 1.0, "validation_error": 12.0 if rate == chosen[m, w] else 20.0,
               "dead_fraction_max": 0.0} for (m, w) in chosen for rate in (0.07, 0.01)]
    tests = [{"dropout": m, "width": w, "learning_rate": chosen[m, w], "validation": 0, "seed": s, "error": e,
              "train_error": 1.0, "dead_fraction_max": 0.2 if m == "binary" and w == 32 else 0.0}
             for (m, w), errors in final.items() for s, e in enumerate(errors)]
    report = report_with_steps(tmp_path, {"figure3a": rows, "figure3a-lr": trials + tests})
    judgement = verdict(report, "3a1")  # without a choice: 32 units left out, 128 compared
    dead = next(c for c in judgement.conditions if c.name == "no optimisation failure")
    assert dead.met and dead.reason.startswith("binary 38 % dead at 32 units: 32 units left out")
    assert "at 32" not in judgement.measured and "at 128" in judgement.measured
    # Non-inferiority at +0.5 points: information is 1.0 lower at 128 units (interval below the margin).
    assert judgement.verdict == "holds" and "non-inferiority margin +0.5" in judgement.measured
    gap = verdict(report, "3a2")  # needs both ends: the gap at 32 units is shown but not judged
    assert gap.verdict == "not testable here" and "shown, not judged" in gap.measured
    (tmp_path / "work" / "figure3a-lr" / "sweep" / "choice.json").write_text(json.dumps(
        {"validation": 1000, "seed": 0, "rule": "lowest",
         "chosen": [{"dropout": m, "width": w, "learning_rate": rate} for (m, w), rate in chosen.items()]}))
    judgement = verdict(report, "3a1")
    dead = next(c for c in judgement.conditions if c.name == "no optimisation failure")
    assert dead.met and "judged at the rates chosen on held-out training images (information/binary: 32 units " \
        "0.07/0.01, 128 units 0.07/0.07)" in dead.reason and "binary 20 % at 32 units" in dead.reason
    # Judged at the chosen rates, every width: -2.50 at 32 units, -0.10 at 128 (interval [-0.55, +0.35] < +0.5).
    assert judgement.measured.startswith("at the rates chosen on held-out training images: information − binary")
    assert "-2.50 ± " in judgement.measured and "-0.10 ± 0.16 SE" in judgement.measured
    assert "(shown, not judged)" in judgement.measured and judgement.verdict == "holds"
    # The learned precondition reads the runs compared: the chosen rates' (training error 1 %).
    learned = next(c for c in judgement.conditions if c.name == "learned")
    assert learned.met and "1.0" in learned.reason
    # 3a2: binary − information is 2.0/2.5/3.0 at 32 units and 0.1 at 128: +2.4 ± 0.29, paired by seed.
    gap = verdict(report, "3a2")
    assert "+2.40 ± 0.29 SE, paired" in gap.measured and gap.verdict == "holds"
    report.judgements = judge_all(report)
    write_section(report, F3A)
    text = "\n".join(report.lines)
    assert "| binary | 32 | 20.00 (0) | 12.00 (0) | **0.01** | 13.00 ± 1.00 | 20.0 | 26.00 ± 1.00 | 37.5 |" in text


def test_non_inferiority_fails_only_beyond_the_margin(tmp_path):
    # Information 3 points worse than binary (SE 0.82, t(4) = 2.776): [+0.73, +5.27] lies above the +0.5 margin.
    worse = {"information": [12.0, 13.0, 14.0], "binary": [9.0, 10.0, 11.0]}
    assert verdict(report_with_steps(tmp_path / "a", {"figure3a": fc_rows(worse)}), "3a1").verdict == "fails"
    # 0.3 worse with a wide interval straddling the margin: inconclusive, with the smallest detectable effect.
    close = {"information": [9.3, 10.3, 11.3], "binary": [9.0, 10.0, 11.0]}
    judgement = verdict(report_with_steps(tmp_path / "b", {"figure3a": fc_rows(close)}), "3a1")
    assert judgement.verdict == "inconclusive" and "smallest detectable" in judgement.reason


def test_figure3a_noise_adapts_to_width_by_the_slope_of_alpha(tmp_path):
    rows = []
    for width, alpha in ((32, 0.2), (128, 0.3), (512, 0.4)):
        for seed, jitter in enumerate((-0.01, 0.0, 0.01)):
            rows.append({"dropout": "information", "width": width, "seed": seed, "error": 5.0, "train_error": 1.0,
                         "dead_fraction_max": 0.0, "information_dropout1.alpha_mean": alpha + jitter})
    report = report_with_steps(tmp_path, {"figure3a": rows})
    judgement = verdict(report, "3a5")
    assert judgement.verdict == "holds" and "+0.050" in judgement.measured  # 0.1 per factor 4 of the units
    report = report_with_steps(tmp_path / "b", {"figure3a": [{k: v for k, v in r.items() if "alpha" not in k}
                                                            for r in rows]})
    assert verdict(report, "3a5").verdict == "not testable here"


def test_overfits_needs_a_beta_zero_gap_beyond_its_standard_error(tmp_path):
    def rows(gap):
        out = []
        for b in (0.0, 0.1, 0.4, 1.6):
            for s, noise in enumerate((-0.2, 0.0, 0.2)):
                error = 20.0 + (gap if b == 0 else 0.0) - (math.log2(b) if b else 0.0) * 0.5 + noise
                out.append({"beta": b, "seed": s, "error": error, "train_error": 15.0 + noise,
                            "total_correlation": 1.0 / (1 + b) + noise / 100})
        return out

    report = report_with_steps(tmp_path, {"figure5": rows(gap=5.0)})
    judgement = verdict(report, "5b")
    overfits = next(c for c in judgement.conditions if c.name == "overfits")
    assert overfits.met and "β = 0 test − training error +10.0 points" in overfits.reason
    report = report_with_steps(tmp_path / "b", {"figure5": [r for r in rows(5.0) if r["beta"] > 0]})
    judgement = verdict(report, "5b")
    assert judgement.verdict == "not testable here" and "no β = 0 run in this sweep" in judgement.conditions[1].text()
    # 5a needs no overfitting: the total correlation falls with β, every seed's point in the slope.
    assert verdict(report, "5a").verdict == "holds"


def test_figure5_table_shows_the_corrected_total_correlation_with_its_bias_and_beta_zero(tmp_path):
    results = [{"beta": b, "seed": 0, "error": 5.0 + b, "total_correlation": tc, "total_correlation_raw": tc + 0.28,
                "total_correlation_bias": 0.28} for b, tc in [(0.0, 0.4), (0.016, 0.3), (0.3, 0.2), (1.0, 0.1)]]
    report = report_with_steps(tmp_path, {"figure5": results})
    write_section(report, F5)
    text = "\n".join(report.lines)
    assert "bias of the raw value" in text and "| 0.3 | 5.30 | not measured | 0.20 | 0.48 | 0.28 |" in text
    assert "| 0 | 5.00 |" in text
    assert "| 0.016 | 5.02 |" in text  # a β is written as given, not rounded to 2 decimals (0.02)


def test_probe_fits_and_the_random_network_baseline(tmp_path):
    rows = [{"beta": b, "seed": s, "main_error_N": 20.0, "main_error_D": 19.0, "main_train_error_D": 5.0,
             "nuisance_error": 60.0 + 5 * math.log2(b / 0.04) + s, "nuisance_train_error": train,
             "nuisance_error_random": 85.0} for b in (0.04, 0.4, 4.0) for s in range(3) for train in (40.0,)]
    report = report_with_steps(tmp_path, {"figure4": rows}, cifar10=True)
    judgement = verdict(report, "4a")
    probe = next(c for c in judgement.conditions if c.name == "probe fits")
    # At the smallest β the trained network's probe errs 24 points less than the untrained one's (60, 61, 62 vs 85).
    assert probe.met and "on an untrained one: -24.00 points ± 0.58 SE, paired" in probe.reason
    assert judgement.verdict == "holds" and "chance 90 %, a random network 85.00" in judgement.measured
    # A probe that reads the digit no better from the trained network than from an untrained one measures nothing:
    # the same rising slope is then not testable, whatever it says (the untrained network's 59.5, 62.5, 61.0).
    untrained = [dict(r, nuisance_error_random=(59.5, 62.5, 61.0)[r["seed"]]) for r in rows]
    (tmp_path / "work" / "figure4" / "sweep" / "results.json").write_text(json.dumps(untrained))
    gated = verdict(report, "4a")
    probe = next(c for c in gated.conditions if c.name == "probe fits")
    assert gated.verdict == "not testable here" and probe.met is False and "+0.00 points ± 0.76 SE" in probe.reason
    assert probe.estimate.groups == 1 and probe.estimate.seeds == 3
    for r in rows:
        r["nuisance_train_error"] = 85.0  # underfits its own training set
    (tmp_path / "work" / "figure4" / "sweep" / "results.json").write_text(json.dumps(rows))
    assert verdict(report, "4a").verdict == "not testable here"
    report.judgements = judge_all(report)
    write_section(report, F4)
    assert "| nuisance probe training error (%) | nuisance, random network (%) |" in "\n".join(report.lines)


def vae(latent, elbo, seed, best=30, last=41, limit=100, digits=7000):
    return {"k": 1, "latent": latent, "seed": seed, "elbo": elbo, "reconstruction": elbo + 20, "kl": 20.0,
            "best_epoch": best, "last_epoch": last, "max_epochs": limit, "validation": 1000, "train_images": digits}


def test_table1_judges_the_latents_over_seeds_against_the_tolerance(tmp_path):
    report = report_with_steps(tmp_path, {
        "table1": [vae("gaussian", -110.0 + d, s) for s, d in enumerate((-0.3, 0.0, 0.3))],
        "table1-log-normal": [vae("information", -110.5 + d, s) for s, d in enumerate((-0.2, 0.0, 0.2))]})
    judgement = verdict(report, "T1")
    assert judgement.verdict == "holds" and "k = 1: -0.5 ± 0.2 SE" in judgement.measured
    absolute = verdict(report, "T1abs")
    assert absolute.verdict == "not testable here"
    assert "trained on 7,000 digits, the paper on 60,000" in absolute.conditions[0].reason
    report.judgements = judge_all(report)
    write_section(report, T1)
    text = "\n".join(report.lines)
    assert "| 1 | -110.0 ± 0.3 (3) | -98.8 | -110.5 ± 0.2 (3) | -100.0 | n/a |" in text
    assert "| T1abs |" in text


def test_table1_is_not_testable_where_a_run_was_still_improving_at_its_limit(tmp_path):
    report = report_with_steps(tmp_path, {
        "table1": [vae("gaussian", -110.0, 0)],
        "table1-log-normal": [vae("information", -110.5, 0, best=100, last=100)]})
    judgement = verdict(report, "T1")
    assert judgement.verdict == "not testable here" and "still improving at the epoch limit" in \
        judgement.conditions[1].reason


def test_a_failed_estimate_is_never_a_verdict_nor_a_nan(tmp_path):
    rows = [{"beta": b, "ndm": v, "ndm_stderr": 0.1, "N.linear_task_error": 10.0, "N.mlp_task_error": 10.0,
             "D.linear_task_error": 10.0, "D.mlp_task_error": 10.0, "layer1.kl": 50.0,
             "layer1.mine_x_z": float("nan"), "layer1.mine_x_z_stderr": float("nan")}
            for b, v in ((0.1, 3.0), (0.4, float("nan")), (1.6, 1.0))]
    report = report_with_steps(tmp_path, {"probes-figure5": rows}, cifar10=True)
    judgement = verdict(report, "5a-ndm")
    assert judgement.verdict == "not testable here"
    assert "failed" in judgement.conditions[1].reason or "failed" in judgement.reason


def test_figure1_shape_statistics_decide_the_claims(tmp_path):
    from infodropout.log_activations import log_activation_shape

    rng = np.random.default_rng(0)
    ledger = {}
    for step, log_z in (("figure1-relu", rng.uniform(-4, 2, 100_000)), ("figure1-softplus", rng.normal(size=100_000))):
        folder = tmp_path / "work" / step / "run"
        folder.mkdir(parents=True)
        summary = {"log_z_mean": 0.0, "log_z_std": 1.0, "zero_fraction": 0.3, "train_error": 12.0,
                   "prior_mean": 0.0, "prior_std": 1.0, **log_activation_shape(log_z)}
        if step == "figure1-relu":
            del summary["prior_mean"], summary["prior_std"]
        (folder / "histogram.json").write_text(json.dumps(summary))
        ledger[step] = {"status": "done", "argv": ["x"], "seconds": 1, "finished": "now"}
    (tmp_path / "work" / "steps.json").write_text(json.dumps(ledger))
    report = Report(make_plan("tiny", cifar10=False), tmp_path / "work", tmp_path / "out")
    assert verdict(report, "1a").verdict == "holds" and verdict(report, "1b").verdict == "holds"
    # Swap them: a normal log z is not flat, a uniform one is not normal.
    relu = tmp_path / "work" / "figure1-relu" / "run" / "histogram.json"
    soft = tmp_path / "work" / "figure1-softplus" / "run" / "histogram.json"
    a, b = json.loads(relu.read_text()), json.loads(soft.read_text())
    relu.write_text(json.dumps({**a, **{k: b[k] for k in ("ks_uniform_central", "ks_normal", "skew", "excess_kurtosis")}}))
    soft.write_text(json.dumps({**b, **{k: a[k] for k in ("ks_uniform_central", "ks_normal", "skew", "excess_kurtosis")}}))
    assert verdict(report, "1a").verdict == "fails" and verdict(report, "1b").verdict == "fails"
    assert verdict(report, "1b-fit").verdict == "holds"  # a sanity check, outside the tally


def test_the_report_opens_with_the_rule_the_tally_and_each_claims_verdict_at_every_scale(tmp_path):
    from infodropout.paper.report.writer import write_report

    out = tmp_path / "out"
    out.mkdir()
    (out / "claims-small.json").write_text(json.dumps([
        {"id": "5a", "section": "Figure 5", "claim": "c", "source": "paper", "verdict": "fails", "reason": ""},
        {"section": "Figure 5", "claim": "an old report's claim, without an id", "verdict": "holds"}]))
    seeds = [{"beta": b, "seed": s, "error": 5.0, "train_error": 1.0, "total_correlation": tc + 0.01 * s,
              "total_correlation_raw": tc, "total_correlation_bias": 0.2}
             for b, tc in [(0.1, 0.9), (0.3, 0.5), (1.0, 0.1)] for s in (0, 1, 2)]
    report_with_steps(tmp_path, {"figure5": seeds})
    path = write_report(make_plan("tiny", cifar10=False), tmp_path / "work", out)
    text = path.read_text()
    assert "95 % two-sided confidence interval" in text and "*learned*: every run compared" in text
    assert "1 holds, 0 fails, " in text and "not testable here" in text
    assert "| id | claim | source | tiny scale | small scale |" in text
    assert "| 5a | larger β: the total correlation of the last layer falls (disentangled) | paper | holds | fails |" \
        in text
    assert "without an id" not in text
    saved = json.loads((out / "claims-tiny.json").read_text())
    assert {e["id"] for e in saved} == {c.id for c in CLAIMS}
    assert {e["verdict"] for e in saved} <= {"holds", "fails", "inconclusive", "not testable here"}


def test_the_committed_medium_results_render_without_their_new_keys(tmp_path):
    from infodropout.paper.report.writer import write_report

    work = ROOT / "results" / "medium"
    if not (work / "steps.json").exists():
        pytest.skip("no committed medium results")
    path = write_report(make_plan("medium", cifar10=False), work, tmp_path)
    text = path.read_text()
    assert not re.search(r"\bnan\b", text, re.IGNORECASE) and "None" not in text
    assert "not measured" in text and "failed estimate" in text
    for claim in CLAIMS:
        assert f"| {claim.id} |" in text or f"| {claim.id} (added) |" in text


def probe_rows(mine: dict, nuisance: dict | None = None):
    rows = []
    for beta, bound in mine.items():
        row = {"beta": beta, "ndm": 1.0 / beta, "ndm_stderr": 0.01, "layer1.kl": 5.0, "layer1.mine_x_z": bound,
               "layer1.mine_x_z_stderr": 0.1}
        for mode in "ND":
            row.update({f"{mode}.linear_task_error": 20.0, f"{mode}.mlp_task_error": 15.0})
            if nuisance:
                row.update({f"{mode}.linear_nuisance_error": 50.0, f"{mode}.mlp_nuisance_error": 50.0,
                            f"{mode}.mi_nuisance": nuisance[beta], f"{mode}.mi_nuisance_stderr": 0.05})
        rows.append(row)
    return rows


def test_kl_above_mine_is_a_sanity_check_that_can_fail_and_leaves_failed_bounds_out(tmp_path):

    # β = 3.0 has a MINE bound (9.0) above the KL (5.0): the check fails there, and says so.
    report = report_with_steps(tmp_path, {"probes-figure5": probe_rows({0.5: 2.0, 1.0: 2.0, 3.0: 9.0})}, cifar10=True)
    check = verdict(report, "KL≥MINE figure5")
    assert check.verdict == "fails" and "below at β = 3.0 (layer1)" in check.measured
    report = report_with_steps(tmp_path / "b", {"probes-figure5": probe_rows({0.5: float("nan"), 1.0: 2.0, 3.0: 1.0})},
                               cifar10=True)
    check = verdict(report, "KL≥MINE figure5")
    assert check.verdict == "holds" and "left out: 1 failed estimate(s) (not a number)" in check.measured
    report.judgements, report.sanity = judge_all(report), judge_all(report, SANITY)
    write_section(report, "Independent estimates")
    text = "\n".join(report.lines)
    assert "| 0.50 | failed estimate |" not in text and "5.00 / failed estimate" in text
    assert "Sanity checks (a bound or a fit that can hardly fail; not claims, not counted)" in text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert all(j.claim.id != check.claim.id for j in report.judgements)  # outside the tally


def test_a_mutual_information_bound_not_above_zero_is_no_valid_estimate(tmp_path):
    rows = probe_rows({0.5: 1.0, 1.0: 1.0, 3.0: 1.0}, nuisance={0.5: 1.2, 1.0: 0.8, 3.0: 0.3})
    figure4 = [{"beta": b, "seed": 0, "main_error_D": 20.0, "main_error_N": 21.0, "main_train_error_D": 10.0,
                "nuisance_error": 70.0} for b in (0.5, 1.0, 3.0)]
    report = report_with_steps(tmp_path, {"probes-figure4": rows, "figure4": figure4}, cifar10=True)
    judgement = verdict(report, "4a-mi")
    assert judgement.verdict == "holds" and "weighted slope" not in judgement.measured
    rows[1]["N.mi_nuisance"] = -36.4  # a critic that found nothing
    (tmp_path / "work" / "probes-figure4" / "sweep" / "results.json").write_text(json.dumps(rows))
    judgement = verdict(report, "4a-mi")
    assert judgement.verdict == "not testable here" and "not above 0: the bound says nothing" in \
        judgement.conditions[1].reason


def share_rows(binary_train_at_smallest: float) -> list[dict]:
    """Figure 3b/6 runs at shares 0.025, 0.05 and 0.1: information learns everywhere; binary's training error at
    share 0.025 is given; binary errs 6 points more than information at 0.1 and 12 more at the smaller shares."""
    rows = []
    for share in (0.025, 0.05, 0.1):
        for seed in range(3):
            for method in ("information", "binary"):
                extra = 0.0 if method == "information" else (6.0 if share == 0.1 else 12.0)
                train = binary_train_at_smallest if (method == "binary" and share == 0.025) else 20.0
                rows.append({"dropout": method, "filter_percentage": share, "seed": seed,
                             "error": 20.0 + extra + 0.3 * seed + (0.2 * seed if method == "binary" else 0.0),
                             "train_error": train, "information_dropout1.total": 700.0 + seed,
                             "information_dropout2.total": 600.0 + 2 * seed,
                             "information_dropout1.per_unit": 0.034 / share + 0.001 * seed,
                             "information_dropout2.per_unit": 0.07 / share + 0.002 * seed})
    return rows


def test_a_precondition_reads_only_the_runs_the_claim_compares(tmp_path):
    # Binary dropout at share 0.025 does not learn: figure 6's claims read Information Dropout's KL alone, so
    # they stay testable; 3b compares binary there, so that share is left out, naming the runs and the bound.
    report = report_with_steps(tmp_path, {"figure3b-6": share_rows(binary_train_at_smallest=67.1)})
    for claim_id in ("6a1", "6a2", "6b1", "6b2"):
        judgement = verdict(report, claim_id)
        assert judgement.verdict != "not testable here", (claim_id, judgement.reason)
        assert "worst training error 20.0 % of 9 run(s)" in judgement.conditions[0].reason
    judgement = verdict(report, "3b")
    learned = judgement.conditions[0]
    assert learned.met is True
    assert "share 0.025 left out: binary, share 0.025, seed 0: training error 67.1 % > bound 45 %" in learned.reason
    assert "at share 0.025" not in judgement.measured.split(";")[0]
    # Share 0.05 leaves 4 filters in the first block: judged and flagged, not left out.
    assert "at share 0.05 (flagged: 4 filters in the first block)" in judgement.measured
    # Binary's gap is 12 points at 0.05 and 6 at 0.1: "especially with fewer filters" holds, as does every share.
    assert "(binary − information) at share 0.05 minus at 0.1: +6.00" in judgement.measured
    assert judgement.verdict == "holds"
    # Where binary learns at 0.025 too, that share is compared (and flagged: 2 filters).
    report = report_with_steps(tmp_path / "b", {"figure3b-6": share_rows(binary_train_at_smallest=30.0)})
    judgement = verdict(report, "3b")
    assert "at share 0.025 (flagged: 2 filters in the first block)" in judgement.measured
    assert "left out" not in judgement.measured


def test_figure6_is_not_testable_where_an_information_run_did_not_learn(tmp_path):
    rows = share_rows(binary_train_at_smallest=30.0)
    rows[0]["train_error"] = 71.3  # information, share 0.025, seed 0
    report = report_with_steps(tmp_path, {"figure3b-6": rows})
    judgement = verdict(report, "6b1")
    assert judgement.verdict == "not testable here"
    assert judgement.reason.startswith("learned: not met (information, share 0.025, seed 0: training error 71.3 % > "
                                       "bound 45 %")


def test_the_report_names_the_precision_each_step_trained_in():
    from infodropout.paper.report.writer import _precision_line
    from infodropout.paper.reproduction.plans import Plan, Step

    plan = Plan("tiny", (Step("a", "cifar", "sweep"), Step("b", "cifar", "train")))
    ledger = {"a": {"config": {"beta": 1}}, "b": {"config": {}}}
    assert "Every step trained in float32" in _precision_line(ledger, plan)
    ledger["b"]["config"]["precision"] = "mixed_bfloat16"
    assert _precision_line(ledger, plan) == "**Precision.** float32: a; mixed_bfloat16: b."


def test_too_large_a_beta_is_compared_with_the_lowest_error_of_the_whole_grid(tmp_path):
    # The smallest β has the lowest error: 5c compares the largest against it, not against the second.
    errors = {0.1: 18.0, 0.4: 21.0, 1.2: 23.0, 2.0: 25.0}
    rows = [{"beta": b, "seed": s, "error": e + 0.3 * s, "train_error": 10.0, "total_correlation": 1.0}
            for b, e in errors.items() for s in range(3)]
    report = report_with_steps(tmp_path, {"figure5": rows})
    judgement = verdict(report, "5c")
    assert "error at the largest β = 2 − at β = 0.1" in judgement.measured and "+7.00" in judgement.measured
    assert judgement.verdict == "holds"


def occluded_overfit(betas, effect):
    """Figure 4's overfitting sweep: β = 0.02 lowers the main error by ``effect`` points, seed by seed."""
    return [{"beta": b, "seed": s, "main_error_D": 30.0 + s - (effect if b == 0.02 else 0.0) + (3.0 if b == 0.2 else 0),
             "main_error_N": 31.0 + s - (effect if b == 0.02 else 0.0) + (3.0 if b == 0.2 else 0) + 0.1 * (s == 1),
             "main_train_error_D": 1.0 + 0.2 * s} for b in betas for s in range(3)]


def test_beta_helps_is_judged_against_the_beta_zero_runs_paired_by_seed(tmp_path):
    plan_steps = {"figure4-overfit": occluded_overfit((0.0, 0.02, 0.2), effect=1.0), "figure4": []}
    report = report_with_steps(tmp_path, plan_steps, cifar10=True, scale="medium")  # the plan with figure4-overfit
    judgement = verdict(report, "4b")
    # A slope through 0.02 and 0.2 would rise (0.2 is worse); against β = 0, β = 0.02 is 1 point better.
    assert "main error D at β = 0.02 (the lowest mean) − at β = 0: -1.00" in judgement.measured
    assert "paired" in judgement.measured and judgement.verdict == "holds"


def test_beta_helps_without_a_beta_zero_run_is_not_testable(tmp_path):
    from infodropout.paper.report.measurements import against_beta_zero

    rows = [r for r in occluded_overfit((0.0, 0.02, 0.2), effect=1.0) if r["beta"] > 0]
    verdict_, text = against_beta_zero(rows, "main_error_D", "main error D")
    assert verdict_ == "not testable here" and "no β = 0 run" in text


def test_an_inconclusive_verdict_says_what_its_plan_could_detect_in_the_report_and_its_json(tmp_path):
    from infodropout.paper.report.writer import write_report

    errors = {"information": [10.0, 11.0, 12.0], "binary": [10.5, 11.0, 12.5], "none": [10.2, 11.1, 11.9],
              "lognormal": [10.1, 11.3, 11.8]}
    report_with_steps(tmp_path, {"figure3a": fc_rows(errors)})
    judgement = verdict(Report(make_plan("tiny", cifar10=False), tmp_path / "work", tmp_path / "out"), "3a1")
    assert judgement.verdict == "inconclusive"
    assert judgement.reason.startswith("at 64, against a margin of +0.5: -0.333 ± ")
    assert "smallest detectable ±" in judgement.reason
    assert "(95 %, 80 % power, 3 seeds" in judgement.reason
    out = tmp_path / "out"
    path = write_report(make_plan("tiny", cifar10=False), tmp_path / "work", out)
    saved = {e["id"]: e for e in json.loads((out / "claims-tiny.json").read_text())}
    assert saved["3a1"]["reason"] == judgement.reason
    assert judgement.reason in path.read_text()


def test_a_step_reads_the_folder_its_command_drew_into_whatever_the_modification_times(tmp_path):
    import os

    work = tmp_path / "work"
    for epochs, elbo in ((100, -1.0), (150, -2.0)):
        folder = work / "table1" / f"vae-sweep.dataset=sample.epochs={epochs}.lr_drops=[80].validation=1000"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps([{"elbo": elbo}]))
    # The stale folder (epochs=100) is the newer on disk, as a fresh checkout may leave it.
    os.utime(work / "table1" / "vae-sweep.dataset=sample.epochs=100.lr_drops=[80].validation=1000", (2e9, 2e9))
    ledger = {"table1": {"status": "done", "argv": ["vae.py", "table", "with", "epochs=150", "lr_drops=[80]"],
                         "seconds": 1, "finished": "now"}}
    (work / "steps.json").write_text(json.dumps(ledger))
    report = Report(make_plan("tiny", cifar10=False), work, tmp_path / "out")
    assert report.results("table1") == [{"elbo": -2.0}]


def test_a_step_reads_its_own_folder_not_a_newer_one_whose_name_lacks_a_value_it_ran_with(tmp_path):
    import os

    # The ledger's table1 ran with lr_drops=[120]; the plan's next command (the default drops, which a name does not
    # spell) has begun a sweep beside it, newer on disk and half done. Its name agrees with the ledger's config
    # vacuously (it spells no lr_drops): the folder that spells the value is the step's.
    work = tmp_path / "work"
    own = work / "table1" / "vae-sweep.dataset=sample.epochs=150.lr_drops=[120].validation=1000"
    next_one = work / "table1" / "vae-sweep.dataset=sample.epochs=150.validation=1000"
    for folder, elbo in ((own, -2.0), (next_one, -9.0)):
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps([{"elbo": elbo}]))
    os.utime(next_one, (2e9, 2e9))
    ledger = {"table1": {"status": "done", "argv": ["vae.py", "table", "with", "epochs=150", "lr_drops=[120]"],
                         "seconds": 1, "finished": "now"}}
    (work / "steps.json").write_text(json.dumps(ledger))
    report = Report(make_plan("tiny", cifar10=False), work, tmp_path / "out")
    assert report.results("table1") == [{"elbo": -2.0}]


def test_a_folder_spells_a_value_as_a_runs_name_computes_it_whole():
    from infodropout.paper.report.page import spells

    name = "cifar-sweep.beta=1.5.dataset=fashion.lr_drops=[3,5,6]"
    assert spells(name, "beta", 1.5) and spells(name, "lr_drops", [3, 5, 6]) and spells(name, "dataset", "fashion")
    assert not spells(name, "beta", 1)  # ".beta=1" begins the part, but the part is beta=1.5
    assert not spells(name, "lr_drops", [3, 5]) and not spells(name, "dataset", "fash")


def test_the_report_says_when_and_where_its_steps_ran_not_only_where_it_was_written():
    from infodropout.paper.report.writer import provenance
    from infodropout.paper.reproduction.plans import Plan, Step

    plan = Plan("toy", (Step("a", "cifar", "train"), Step("b", "cifar", "train"), Step("c", "cifar", "test")))
    ledger = {"a": {"finished": "2026-11-29 02:30:41", "machine": "2 CPU cores (AMD EPYC, AVX-512)"},
              "b": {"finished": "2026-12-01 10:00:00"}}
    line = provenance(plan, ledger)
    assert line == (" The 2 steps it reads finished 2026-11-29 to 2026-12-01 (2 CPU cores (AMD EPYC, AVX-512); "
                    "1 of them on a machine the ledger does not name: they ran before it recorded one).")
    assert provenance(plan, {}) == ""


def test_figure1_softplus_says_whether_the_normal_shape_is_the_networks_or_the_noises(tmp_path):
    from infodropout.log_activations import log_activation_shape

    rng = np.random.default_rng(1)
    folder = tmp_path / "work" / "figure1-softplus" / "run"
    folder.mkdir(parents=True)
    (tmp_path / "work" / "steps.json").write_text(json.dumps(
        {"figure1-softplus": {"status": "done", "argv": ["x"], "seconds": 1, "finished": "now"}}))
    base = {"log_z_mean": 0.0, "log_z_std": 1.0, "zero_fraction": 0.0, "train_error": 12.0, "prior_mean": 0.0,
            "prior_std": 1.0, **log_activation_shape(rng.normal(size=50_000))}
    report = Report(make_plan("tiny", cifar10=False), tmp_path / "work", tmp_path / "out")
    (folder / "histogram.json").write_text(json.dumps(base))
    assert "not measured (histogram.json predates" in verdict(report, "1b").reason
    for f_values, whose in ((rng.normal(size=50_000), "the network's doing"),
                            (rng.uniform(-2, 2, 50_000), "the noise's doing")):
        f_shape = {f"f_{key}": value for key, value in log_activation_shape(f_values).items()}
        (folder / "histogram.json").write_text(json.dumps({**base, **f_shape, "noise_variance_share": 0.64}))
        judged = verdict(report, "1b")
        assert judged.verdict == "holds"  # the paper's measurement, on log z, decides; the clause says why
        assert whose in judged.reason and "64 % of log z's variance" in judged.reason


def test_figure5_total_correlation_holds_only_where_the_noise_free_one_falls_too(tmp_path):
    def rows(tc_f):
        return [{"beta": b, "seed": s, "error": 20.0, "train_error": 5.0, "total_correlation": 0.5 - 0.1 * i + 0.01 * s,
                 "total_correlation_f": tc_f(i, s), "noise_variance_share": 0.2 + 0.2 * i}
                for i, b in enumerate((0.1, 0.4, 1.6)) for s in range(3)]

    falling = verdict(report_with_steps(tmp_path / "a", {"figure5": rows(lambda i, s: 0.6 - 0.1 * i + 0.01 * s)}), "5a")
    assert falling.verdict == "holds" and "noise-free log f(x), total correlation per unit (nats), slope" in falling.reason
    assert "20 % of log z's variance at β = 0.1 and 60 % at β = 1.6" in falling.reason
    # log z's total correlation falls, f(x)'s does not beyond its error: the fall may be the noise's, not decided.
    flat = verdict(report_with_steps(tmp_path / "b", {"figure5": rows(lambda i, s: 0.6 + 0.01 * (s - 1) * (i - 1))}),
                   "5a")
    assert flat.verdict == "inconclusive"
    # f(x)'s rises with β: the network grows less independent, whatever the noise does.
    rising = verdict(report_with_steps(tmp_path / "c", {"figure5": rows(lambda i, s: 0.4 + 0.1 * i + 0.01 * s)}), "5a")
    assert rising.verdict == "fails"


def cluttered_rows(first: dict, upper: dict, seeds=(0, 1, 2)):
    """Figure 2's runs: the KL share in the digit's box of layer 1 (``first``) and layers 2 and 3 (``upper``) by β."""
    return [{"beta": b, "seed": s, "error": 10.0, "train_error": 5.0,
             "information_dropout1.mass_inside": first[b] + 0.01 * s,
             "information_dropout2.mass_inside": upper[b] + 0.01 * s,
             "information_dropout3.mass_inside": upper[b] + 0.02 * s * s}
            for b in first for s in seeds]


def test_figure2_judges_beta_against_the_smallest_and_the_upper_layers_against_the_first(tmp_path):
    betas = (0.0, 0.0016, 0.08)
    # The upper layers' share in the box rises from 0.3 to 0.6 with β, the first layer's stays at 0.3.
    rising = cluttered_rows(dict.fromkeys(betas, 0.3), {0.0: 0.3, 0.0016: 0.4, 0.08: 0.6})
    report = report_with_steps(tmp_path / "a", {"figure2-sweep": rising})
    two_a = verdict(report, "2a")
    assert two_a.verdict == "holds" and "at β = 0.08 − at β = 0:" in two_a.measured
    two_d = verdict(report, "2d")
    assert two_d.verdict == "holds" and "mean of information_dropout2 and information_dropout3 − " \
        "information_dropout1" in two_d.measured
    # The first layer drops the clutter as much as the upper ones: 2a holds, 2d fails (the drop is not higher up).
    first_too = cluttered_rows({0.0: 0.3, 0.0016: 0.5, 0.08: 0.9}, {0.0: 0.3, 0.0016: 0.4, 0.08: 0.6})
    report = report_with_steps(tmp_path / "b", {"figure2-sweep": first_too})
    assert verdict(report, "2a").verdict == "holds" and verdict(report, "2d").verdict == "fails"


def test_figure2s_trends_read_the_ends_of_the_grid_only(tmp_path):
    # A run at the middle β did not learn: 2a and 2d compare the smallest β with the largest, so they stay
    # testable; 2c picks its β among all of them, so it is not testable, naming the run.
    rows = cluttered_rows(dict.fromkeys((0.0, 0.0016, 0.08), 0.3), {0.0: 0.3, 0.0016: 0.4, 0.08: 0.6})
    stuck = next(r for r in rows if r["beta"] == 0.0016 and r["seed"] == 2)
    stuck["train_error"] = 63.5
    report = report_with_steps(tmp_path / "a", {"figure2-sweep": rows})
    for claim_id in ("2a", "2d"):
        judgement = verdict(report, claim_id)
        assert judgement.verdict == "holds", (claim_id, judgement.reason)
        assert "of 6 run(s)" in judgement.conditions[0].reason
    judgement = verdict(report, "2c")
    assert judgement.verdict == "not testable here"
    assert "β = 0.0016, seed 2: training error 63.5 % > bound 45 %" in judgement.reason
    # The same run at the largest β: 2a is not testable either.
    stuck["train_error"], next(r for r in rows if r["beta"] == 0.08 and r["seed"] == 2)["train_error"] = 5.0, 62.8
    report = report_with_steps(tmp_path / "b", {"figure2-sweep": rows})
    assert verdict(report, "2a").verdict == "not testable here"


def test_figure3b_against_the_other_methods_by_share_within_the_margin(tmp_path):
    rows = []
    for share in (0.05, 0.1):
        for method, error in (("information", 20.0), ("binary", 21.0), ("lognormal", 24.0), ("none", 20.2)):
            rows += [{"dropout": method, "filter_percentage": share, "seed": s, "error": error + 0.5 * s,
                      "train_error": 10.0} for s in range(3)]
    report = report_with_steps(tmp_path / "a", {"figure3b-6": rows})
    judgement = verdict(report, "3b2")
    # Information 4 points below log-normal noise (holds) and 0.2 below no dropout, SE 0.41: [-1.33, +0.93] lies
    # below the +1 margin (holds).
    assert judgement.verdict == "holds", judgement.measured
    assert "information − lognormal (points): -4.00 ± 0.41 SE" in judgement.measured
    assert "non-inferiority margin +1" in judgement.measured
    # Without the other methods' runs, not testable, saying which are missing.
    report = report_with_steps(tmp_path / "b", {"figure3b-6": [r for r in rows if r["dropout"] != "lognormal"]})
    judgement = verdict(report, "3b2")
    assert judgement.verdict == "not testable here" and "no lognormal run" in judgement.reason


def test_the_alpha_cap_ablation_compares_figure5s_runs_at_the_same_beta_and_seeds(tmp_path):
    figure5 = [{"beta": b, "seed": s, "error": 20.0 + s, "train_error": 15.0, "total_correlation": 0.1}
               for b in (0.1, 1.2) for s in range(3)]
    uncapped = [{"beta": 1.2, "seed": s, "error": 25.0 + s + 0.1 * s * s, "train_error": 20.0} for s in range(3)]
    report = report_with_steps(tmp_path / "a", {"figure5": figure5, "alpha-cap": uncapped}, scale="medium")
    judgement = verdict(report, "8a")
    # Differences 5.0, 5.1, 5.4 by seed: +5.17 ± 0.12, paired.
    assert judgement.verdict == "holds" and "+5.17 ± 0.12 SE, paired" in judgement.measured
    assert "with α ≤ 3.0 − with α ≤ 0.7" in judgement.measured
    # Runs that do not learn under the larger cap are the effect, not a failed precondition: only the capped runs
    # (figure 5's) must learn.
    stuck = [{**r, "error": 89.0 + 0.1 * r["seed"], "train_error": 89.0} for r in uncapped]
    report = report_with_steps(tmp_path / "s", {"figure5": figure5, "alpha-cap": stuck}, scale="medium")
    assert verdict(report, "8a").verdict == "holds"
    broken = [{**r, "train_error": 89.0} for r in figure5]
    report = report_with_steps(tmp_path / "t", {"figure5": broken, "alpha-cap": uncapped}, scale="medium")
    assert verdict(report, "8a").verdict == "not testable here"
    # Figure 5 without that β: nothing to compare with.
    report = report_with_steps(tmp_path / "b", {"figure5": [r for r in figure5 if r["beta"] != 1.2],
                                                "alpha-cap": uncapped}, scale="medium")
    assert verdict(report, "8a").verdict == "not testable here"
    # A plan without the ablation (the tiny one) says so.
    judgement = verdict(report_with_steps(tmp_path / "c", {"figure5": figure5}), "8a")
    assert judgement.verdict == "not testable here" and "no α-cap ablation" in judgement.reason


def test_the_report_lists_the_steps_not_run_with_the_plans_current_command(tmp_path):
    from infodropout.paper.reproduction.ledger import planned
    from infodropout.paper.report.writer import pending_steps

    report = report_with_steps(tmp_path, {"figure3a": fc_rows({"information": [5.0], "binary": [6.0]})})
    plan = make_plan("tiny", cifar10=False)
    step = next(s for s in plan.steps if s.name == "figure3a")
    assert step in pending_steps(report, plan)  # its ledger holds another command
    report.ledger["figure3a"].update(planned(step, {"models_dir": "/elsewhere"}, jobs=2))  # other folders, jobs
    pending = pending_steps(report, plan)
    assert step not in pending and len(pending) == len(plan.steps) - 1  # the others never ran
