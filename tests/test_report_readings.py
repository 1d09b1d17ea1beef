"""How the report reads claims whose reading CLAIMS.md revised or gated: 3a3 on the mean over widths with the former
reading beside it, T1 gated per k, 6a1's tolerance set after its runs, 6b1/6b2 reading 6a1/6a2's numbers, and 8a's
training errors beside its test errors."""
from test_report_sections import fc_rows, report_with_steps, share_rows, vae, verdict

from infodropout.paper.report.opening import verdict_text
from infodropout.paper.report.opening import BRIEF, brief
from infodropout.paper.report.verdicts import Difference


def test_3a3_reads_the_mean_over_widths_and_shows_the_former_every_width_reading(tmp_path):
    # Information 2 points below constant log-normal noise at 32 units, 0.1 at 128 (every SD 0.5, 3 seeds): at
    # 128 the interval spans 0, so "lower at every width" is inconclusive; the mean over widths, −1.05, has a
    # standard error √(4 × (0.25/3) / 2²) = 0.29 with 8 degrees of freedom (t = 2.306): it holds.
    rows = fc_rows({"information": [9.5, 10.0, 10.5], "lognormal": [11.5, 12.0, 12.5]}, width=32)
    rows += fc_rows({"information": [9.5, 10.0, 10.5], "lognormal": [9.6, 10.1, 10.6]}, width=128)
    judgement = verdict(report_with_steps(tmp_path, {"figure3a": rows}), "3a3")
    assert judgement.verdict == "holds"
    assert "-1.05 ± 0.29 SE, 95 % CI [-1.72, -0.38]" in judgement.measured
    assert "*revised after the runs*" in judgement.measured
    assert judgement.former == "the former reading, lower at every width: inconclusive"
    assert verdict_text(judgement) == "**holds** (the former reading, lower at every width: inconclusive)"
    assert judgement.former in brief(judgement) and len(brief(judgement)) <= BRIEF


def test_table1_is_gated_per_k_a_converged_k_is_judged_and_the_others_named(tmp_path):
    k1 = [vae("gaussian", -110.0 + d, s) for s, d in enumerate((-0.3, 0.0, 0.3))]
    k1_info = [vae("information", -110.5 + d, s) for s, d in enumerate((-0.2, 0.0, 0.2))]
    late = [dict(r, k=3, best_epoch=100, last_epoch=100) for r in k1 + k1_info]  # still improving at its limit
    report = report_with_steps(tmp_path / "a", {"table1": k1 + late[:3], "table1-log-normal": k1_info + late[3:]})
    judgement = verdict(report, "T1")
    converged = judgement.conditions[1]
    # k = 1 holds alone, but k = 3 was not tested: the claim over every k is inconclusive, not "holds".
    assert converged.met and converged.left_out == ("k = 3",) and "k = 1 converged; k = 3 left out" in converged.reason
    assert judgement.verdict == "inconclusive" and "k = 1: -0.5 ± 0.2 SE" in judgement.measured
    assert "k = 3 left out" in judgement.measured and "k = 3:" not in judgement.measured
    # A converged k that fails decides the claim, whatever the unconverged k would say.
    failing = [dict(r, elbo=r["elbo"] - 5.0) for r in k1_info]
    report = report_with_steps(tmp_path / "b", {"table1": k1 + late[:3], "table1-log-normal": failing + late[3:]})
    assert verdict(report, "T1").verdict == "fails"
    # Where no k converged, the claim is not testable.
    report = report_with_steps(tmp_path / "c", {"table1": late[:3], "table1-log-normal": late[3:]})
    assert verdict(report, "T1").verdict == "not testable here"


def test_an_equivalence_is_settled_by_its_distance_to_the_tolerance_not_to_zero():
    # −2.0 against ±1.5: more seeds must tell −2.0 from the edge −1.5, half a unit, not from 0.
    d = Difference(-2.0, 0.25, 4.0, "Welch", 3, tolerance=1.5)
    assert d.deciding_effect == 0.5
    assert d.seeds_for(d.deciding_effect) > Difference(-2.0, 0.25, 4.0, "Welch", 3).seeds_for(2.0)


def test_6a1_says_its_tolerance_came_after_the_runs_and_6b_says_it_reads_6a_numbers(tmp_path):
    report = report_with_steps(tmp_path, {"figure3b-6": share_rows(binary_train_at_smallest=30.0)})
    assert "*revised after the runs*" in verdict(report, "6a1").measured
    assert "set after the first runs" in brief(verdict(report, "6a1"))
    for claim, other in (("6b1", "6a1"), ("6b2", "6a2")):
        judgement = verdict(report, claim)
        assert other in judgement.measured and "not a separate finding" in brief(judgement)


def test_8a_shows_both_caps_training_errors_so_a_failure_to_fit_shows(tmp_path):
    figure5 = [{"beta": 1.2, "seed": s, "error": 20.0 + s, "train_error": 15.0 + s} for s in range(3)]
    stuck = [{"beta": 1.2, "seed": s, "error": 89.0 + 0.1 * s, "train_error": 79.5 + 0.5 * s} for s in range(3)]
    judgement = verdict(report_with_steps(tmp_path / "a", {"figure5": figure5, "alpha-cap": stuck}, scale="medium"),
                        "8a")
    assert "training error with α ≤ 3.0: 79.5–80.5 %, with α ≤ 0.7: 15.0–17.0 %" in judgement.measured
    assert "fails to fit its training data" in brief(judgement)
    fits = [dict(r, train_error=10.0) for r in stuck]
    judgement = verdict(report_with_steps(tmp_path / "b", {"figure5": figure5, "alpha-cap": fits}, scale="medium"),
                        "8a")
    assert "fits its training data and the difference is one of generalisation" in judgement.measured


def test_3b2_judges_no_dropout_only_at_shares_where_no_dropout_overfits(tmp_path):
    # Information 0.2 below no dropout at both shares (non-inferior); no dropout overfits at 0.1 (its training
    # error 10 %, test 20.2–21.2 %) but not at 0.05, where its training error equals its test error.
    rows = []
    for share in (0.05, 0.1):
        for method, error in (("information", 20.0), ("lognormal", 24.0), ("none", 20.2)):
            rows += [{"dropout": method, "filter_percentage": share, "seed": s, "error": error + 0.5 * s,
                      "train_error": error + 0.5 * s if (method, share) == ("none", 0.05) else 10.0}
                     for s in range(3)]
    judgement = verdict(report_with_steps(tmp_path, {"figure3b-6": rows}), "3b2")
    assert "share 0.05 left out against none (no dropout does not overfit there: its test − training error +0.0" \
        in judgement.measured
    assert "information − none (points): -0.20 ± 0.41 SE, 95 % CI [-1.33, +0.93] at share 0.1" in judgement.measured
    # Every comparison judged holds, but a share was left out: the claim over every share is not decided.
    assert judgement.verdict == "inconclusive" and "left out against none" in brief(judgement)


def test_5a_without_the_noise_free_total_correlation_leaves_its_cause_open(tmp_path):
    rows = [{"beta": b, "seed": s, "error": 5.0, "train_error": 1.0, "total_correlation": tc + 0.01 * s}
            for b, tc in [(0.1, 0.9), (0.3, 0.5), (1.0, 0.1)] for s in range(3)]
    judgement = verdict(report_with_steps(tmp_path / "a", {"figure5": rows}), "5a")
    assert judgement.verdict == "holds" and judgement.unsettled == "whether the fall is the network's or the noise's"
    measured = [dict(r, total_correlation_f=0.5 - 0.1 * r["beta"] + 0.01 * r["seed"], noise_variance_share=0.3)
                for r in rows]
    assert verdict(report_with_steps(tmp_path / "b", {"figure5": measured}), "5a").unsettled == ""


def test_3b2_failing_against_no_dropout_names_the_setting_with_more_overfitting_as_open(tmp_path):
    # No dropout beats information by 3 points at share 0.1, where it overfits by 1.5 points (10.0 vs 8.5 %).
    rows = []
    for method, error in (("information", 13.0), ("lognormal", 16.0), ("none", 10.0)):
        rows += [{"dropout": method, "filter_percentage": 0.1, "seed": s, "error": error + 0.2 * s,
                  "train_error": error + 0.2 * s - 1.5} for s in range(3)]
    judgement = verdict(report_with_steps(tmp_path, {"figure3b-6": rows}, scale="medium"), "3b2")
    assert judgement.verdict == "fails"
    assert judgement.unsettled == "whether it trails no dropout where no dropout overfits by more than the 1.5 points here"


def test_a_claim_with_a_smallest_effect_of_interest_fails_where_its_interval_excludes_one(tmp_path):
    from infodropout.paper.report.measurements import against_beta_zero
    from infodropout.paper.report.verdicts import SESOI, below_sesoi

    # Paired differences −0.2, 0.0, +0.2 (mean 0, SE 0.115, t(2) = 4.30: [−0.50, +0.50]): no 1-point fall fits.
    rows = [{"beta": b, "seed": s, "error": 20.0 + s + (0.2 * (s - 1) if b else 0.0)} for b in (0.0, 0.1)
            for s in range(3)]
    # Runs that all finished after the SESOI was stated (``later``: every row): it applies.
    verdict_, text = against_beta_zero(rows, "error", "error", rows)
    assert SESOI == 1.0 and verdict_ == "fails" and "(no effect as large as the SESOI, 1 point)" in text
    # Runs from before it was stated: judged without it, what it would say shown beside.
    verdict_, text = against_beta_zero(rows, "error", "error")
    assert verdict_ == "inconclusive" and "*stated after these runs*, would fail it: not applied" in text
    # Seeds added after it: the direction on every seed, the SESOI on the added seeds alone.
    added = [dict(r, seed=r["seed"] + 3) for r in rows]
    verdict_, text = against_beta_zero(rows + added, "error", "error", added)
    assert verdict_ == "fails" and "on the 3 seeds added after the SESOI was stated, at β = 0.1" in text
    assert "(no effect as large as the SESOI, 1 point)" in text.split("; on the 3 seeds")[1]
    # Spread 10 times as wide ([−5.0, +5.0]): a 1-point effect is not excluded, so it stays inconclusive.
    wide = [dict(r, error=20.0 + r["seed"] + (2.0 * (r["seed"] - 1) if r["beta"] else 0.0)) for r in rows]
    assert against_beta_zero(wide, "error", "error", wide)[0] == "inconclusive"
    wide_added = [dict(r, seed=r["seed"] + 3) for r in wide]  # added seeds too spread to exclude it
    assert against_beta_zero(rows + wide_added, "error", "error", wide_added)[0] == "inconclusive"
    # The claimed direction decides which end is read: a claimed rise of at least 1 with [−0.5, +0.5] fails too.
    d = Difference(0.0, 0.2, 10.0, "paired", 11)
    assert below_sesoi(d, -1, 1.0) and below_sesoi(d, +1, 1.0) and not below_sesoi(d, -1, 0.3)
    # Figure 3a's "lower than no dropout" (3a4) reads it; "comparable or better" (3a1) keeps its margin instead.
    errors = {"information": [9.9, 10.0, 10.1], "none": [9.95, 10.05, 10.15], "binary": [9.9, 10.0, 10.1]}
    report = report_with_steps(tmp_path, {"figure3a": fc_rows(errors)})
    judgement = verdict(report, "3a4")
    assert judgement.verdict == "fails" and "SESOI" in judgement.measured
    assert not judgement.reason.startswith("opposite to the claim")
    from dataclasses import replace

    from infodropout.paper.report.opening import in_short

    as_paper = replace(judgement, claim=replace(judgement.claim, source="paper"))  # the paragraph lists the paper's
    assert "(3a4; no effect as large as its smallest effect of interest)" in in_short([as_paper], "tiny")
    assert verdict(report, "3a1").verdict == "holds"
