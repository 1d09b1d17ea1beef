"""Runs added to a step of the medium plan (plans.ADDED_STEPS): seeds read as the step's own, a method beside its
runs, and CLAIMS.md's smallest effect of interest judged only on the runs that finished after it was stated."""
import json

from infodropout.paper.report.measurements import after_sesoi, sesoi_for
from infodropout.paper.reproduction.plans import ADDED_STEPS, make_plan
from infodropout.paper.report.verdicts import SESOI, SESOI_STATED_AFTER

from test_report_sections import report_with_steps, verdict


def test_each_added_step_is_its_steps_command_with_the_values_it_replaces_and_new_seeds():
    plan = make_plan("medium", cifar10=False)
    steps = {step.name: step for step in plan.steps}
    for name, base, extends in ADDED_STEPS:
        added, original = steps[name], steps[base]
        assert added.extends == (base if extends else "") and added.experiment == original.experiment
        assert added.configs == original.configs and added.command == original.command
        # Every value it does not replace is its step's: the same setting.
        replaced = set(added.config) ^ set(original.config) | {key for key in added.config
                                                               if added.config[key] != original.config.get(key)}
        assert {key: original.config[key] for key in original.config if key not in replaced} == \
            {key: added.config[key] for key in added.config if key not in replaced}
        if extends:  # seeds the step does not have, so that no run is trained twice
            assert not set(added.config["seeds"]) & set(original.config["seeds"]), name
    # The small and full plans have none.
    assert not {name for name, _, _ in ADDED_STEPS} & {s.name for s in make_plan("small", cifar10=False).steps}
    assert not {name for name, _, _ in ADDED_STEPS} & {s.name for s in make_plan("full", cifar10=True).steps}


def test_added_seeds_are_read_with_the_step_they_extend(tmp_path):
    rows = [{"dropout": m, "filter_percentage": 0.1, "seed": s, "error": 20.0, "train_error": 18.0,
             "information_dropout1.total": 100.0, "information_dropout2.total": 90.0 + s}
            for m in ("information", "binary") for s in range(3)]
    added = [dict(rows[0], seed=s, **{"information_dropout2.total": 90.0 + s}) for s in range(3, 7)]
    report = report_with_steps(tmp_path, {"figure3b-6": rows, "figure3b-6-seeds": added}, scale="medium")
    assert report.extensions("figure3b-6") == ["figure3b-6-seeds"]
    assert len(report.own_results("figure3b-6")) == 6 and len(report.results("figure3b-6")) == 10
    assert report.seeds("figure3b-6") == list(range(7))
    report.provenance("figure3b-6")
    assert any("seeds added to `figure3b-6`" in line for line in report.lines)
    judgement = verdict(report, "6a2")
    # Layer 2 − layer 1 over the 7 seeds (−10 + seed: mean −7; the first 3 alone would give −9).
    assert judgement.read == ("figure3b-6", "figure3b-6-seeds") and "-7.00 ± 0.82 SE, paired" in judgement.measured


def test_the_sesoi_judges_only_steps_that_finished_after_it_was_stated(tmp_path):
    rows = [{"beta": b, "seed": s, "error": 25.0 + 0.1 * s, "train_error": 2.0} for b in (0.0, 0.01) for s in range(5)]
    report = report_with_steps(tmp_path, {"figure5-overfit": rows}, scale="medium")
    assert after_sesoi(report, "figure5-overfit") and sesoi_for(report, "figure5-overfit") == (SESOI, None)
    report.ledger["figure5-overfit"]["finished"] = SESOI_STATED_AFTER  # finished by then: before it
    assert not after_sesoi(report, "figure5-overfit") and sesoi_for(report, "figure5-overfit") == (None, SESOI)
    judgement = verdict(report, "5b")
    assert judgement.verdict == "inconclusive" and "*stated after these runs*" in judgement.measured
    # Seeds added after it, at β = 0 and the best β: the SESOI judged on them alone fails the claim.
    ledger = json.loads((tmp_path / "work" / "steps.json").read_text())
    added = [dict(r, seed=r["seed"] + 5) for r in rows]
    report = report_with_steps(tmp_path / "b", {"figure5-overfit": rows, "figure5-overfit-seeds": added},
                               scale="medium")
    report.ledger["figure5-overfit"] = dict(ledger["figure5-overfit"], finished=SESOI_STATED_AFTER)
    judgement = verdict(report, "5b")
    assert judgement.verdict == "fails" and "on the 5 seeds added after the SESOI was stated" in judgement.measured


def test_3b2_is_judged_against_no_dropout_in_figure_5s_overfitting_setting_once_it_has_run(tmp_path):
    rows = []
    for method, error in (("information", 13.0), ("lognormal", 16.0), ("none", 10.0)):
        rows += [{"dropout": method, "filter_percentage": 0.1, "seed": s, "error": error + 0.2 * s,
                  "train_error": error + 0.2 * s - 1.5} for s in range(3)]
    # Information at β = 0.06 (figure 3b's β on 1,000 images) within 0.2 points of no dropout, which overfits by 24.
    overfit = [{"beta": b, "seed": s, "error": 25.0 + 0.1 * s, "train_error": 5.0} for b in (0.0, 0.06)
               for s in range(5)]
    none = [{"beta": 0.0, "seed": s, "error": 24.8 + 0.1 * s, "train_error": 1.0} for s in range(5)]
    report = report_with_steps(tmp_path, {"figure3b-6": rows, "figure5-overfit": overfit,
                                          "figure5-overfit-none": none}, scale="medium")
    judgement = verdict(report, "3b2")
    assert "in figure 5's overfitting setting (1,000 images; information at β = 0.06)" in judgement.measured
    assert "+0.20" in judgement.measured.split("overfitting setting")[1]
    # Share 0.1 still fails it (no dropout 3 points better there, where it overfits too); nothing is left open.
    assert judgement.verdict == "fails" and judgement.unsettled == ""


def test_more_seeds_for_a_claim_with_a_smallest_effect_of_interest_count_the_distance_to_its_edge():
    from infodropout.paper.report.verdicts import Difference

    # +0.13 ± 0.50 on 5 paired seeds: 0 is near (0.13), the SESOI's edge at −1 is 1.13 away: that decides sooner.
    d = Difference(0.13, 0.50, 4.0, "paired", 5)
    with_sesoi = Difference(0.13, 0.50, 4.0, "paired", 5, sesoi_edge=-1.0)
    assert d.deciding_effect == 0.13 and abs(with_sesoi.deciding_effect - 1.13) < 1e-12
    assert d.seeds_for(d.deciding_effect) is None and 5 < with_sesoi.seeds_for(with_sesoi.deciding_effect) <= 15
