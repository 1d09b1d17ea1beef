"""The estimator-valid precondition reads the estimators' own flags."""

from infodropout.paper.report.preconditions import estimator_valid


def test_an_estimate_its_estimator_flagged_or_at_its_ceiling_is_not_valid():
    rows = [{"beta": 0.5, "N.mi_task": 1.2, "N.mi_task_valid": True},
            {"beta": 1.0, "N.mi_task": 1.0, "N.mi_task_valid": False, "N.mi_task_reason": "not converged"}]
    condition = estimator_valid(rows, ["N.mi_task"])
    assert condition.met is False and "not converged" in condition.reason
    ceiling = [{"beta": 0.5, "N.infonce_task": 7.9, "N.infonce_task_at_ceiling": True, "N.infonce_task_ceiling": 8.0}]
    assert estimator_valid(ceiling, ["N.infonce_task"]).met is False


def test_finite_flagged_valid_estimates_pass_and_a_missing_or_null_one_does_not():
    rows = [{"beta": b, "N.mi_task": 1.0 / b, "N.mi_task_valid": True} for b in (0.5, 1.0)]
    assert estimator_valid(rows, ["N.mi_task"]).met is True
    assert estimator_valid([{"beta": 0.5}], ["N.mi_task"]).met is None
    failed = [{"beta": 0.5, "N.mi_task": None, "N.mi_task_valid": False, "N.mi_task_reason": "diverged"}]
    assert estimator_valid(failed, ["N.mi_task"]).met is False
