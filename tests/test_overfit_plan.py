"""The plan's data-limited steps for figures 4 and 5: a β = 0 point and a setting in which the network overfits."""

import pytest

from infodropout.paper.reproduction.plans import make_plan
from infodropout.paper.reproduction.scales import (
    MEDIUM_EXPECTED_MINUTES, OVERFIT_IMAGES, SETTINGS, replacing,
)

PAPER_FIG5_BETAS = [1.0, 3.0, 5.0]
PAPER_FIG4_BETAS = [1.0, 10.0]
# The medium grids add the paper's smallest β (figure 5's 0.5, figure 4's 0.1), so that "β helps" is judged on a
# grid that holds the paper's small values scaled to the data size.
SMALLEST = {"small": {}, "medium": {"figure5-overfit": [0.5], "figure4-overfit": [0.1]}}


@pytest.mark.parametrize("scale", ["small", "medium"])
def test_both_overfit_steps_sweep_beta_from_zero_on_few_images_with_a_late_drop(scale):
    steps = {step.name: step for step in make_plan(scale, cifar10=True).steps}
    for name, paper in (("figure5-overfit", PAPER_FIG5_BETAS), ("figure4-overfit", PAPER_FIG4_BETAS)):
        step = steps[name]
        assert step.command == "sweep" and step.note
        images, epochs = step.config["num_train"], step.config["epochs"]
        assert images == OVERFIT_IMAGES < 5000 and epochs >= 20
        assert step.config["lr_drops"] == [round(0.75 * epochs)]  # one drop, at 3/4 of training
        # β = 0, then the paper's β rescaled by the data ratio (the KL weighs on each image as in the paper).
        paper = SMALLEST[scale].get(name, []) + paper
        assert step.config["betas"] == pytest.approx([0.0] + [b * images / 50_000 for b in paper])
        assert len(step.config["seeds"]) >= 2
    assert steps["figure5-overfit"].configs == ("softplus",) and steps["figure5-overfit"].config["sweep_over"] == "beta"
    # Each overfit step comes after its figure's own step, whose larger runs stay for the other trends.
    order = [step.name for step in make_plan(scale, cifar10=True).steps]
    assert order.index("figure5-overfit") == order.index("figure5") + 1
    assert order.index("figure4-overfit") == order.index("figure4") + 1


def test_the_medium_overfit_steps_run_on_fashion_mnist_and_are_estimated():
    plan = make_plan("medium", cifar10=False)
    steps = {step.name: step for step in plan.steps}
    assert steps["figure5-overfit"].config["dataset"] == steps["figure4-overfit"].config["dataset"] == "fashion"
    assert steps["figure4-overfit"].stand_in == steps["figure4"].stand_in
    # Five seeds: at three, the medium report's effects lay within twice their standard error.
    assert steps["figure5-overfit"].config["seeds"] == steps["figure4-overfit"].config["seeds"] == [0, 1, 2, 3, 4]
    for name in ("figure5-overfit", "figure4-overfit"):
        # 20 and 25 runs of 1,000 images: about 2 to 3 minutes a run on 2 AVX2 cores (figure 5's was measured there).
        assert 20 <= MEDIUM_EXPECTED_MINUTES[name] <= 90
        assert steps[name].expected_s == pytest.approx(60 * MEDIUM_EXPECTED_MINUTES[name])
    assert set(MEDIUM_EXPECTED_MINUTES) == set(steps)


def test_scales_without_the_setting_and_small_without_figure4_add_no_overfit_step():
    for scale in ("tiny", "full"):
        assert not any("overfit" in step.name for step in make_plan(scale, cifar10=True).steps)
    small = make_plan("small", cifar10=False)
    names = {step.name for step in small.steps}
    assert "figure5-overfit" in names and "figure4-overfit" not in names and "figure4" in small.skipped
    assert "overfit" in SETTINGS["small"] and "overfit" in SETTINGS["medium"]


def test_replacing_moves_the_replaced_keys_after_the_rest_in_order():
    replaced = replacing({"a": 1, "b": 2, "c": 3}, {"b": 5, "d": 4})
    assert list(replaced.items()) == [("a", 1), ("c", 3), ("b", 5), ("d", 4)]
    assert replacing({"a": 1}, {}) == {"a": 1}
