"""The plan's data-limited steps for figures 4 and 5: a β = 0 point and a setting in which the network overfits."""

import pytest

from infodropout.paper.report.plans import make_plan
from infodropout.paper.report.scales import (
    AVX2_SLOWDOWN, MEDIUM_ESTIMATED_MINUTES, MEDIUM_EXPECTED_MINUTES, OVERFIT_IMAGES, SETTINGS, replacing,
)

PAPER_FIG5_BETAS = [1.0, 3.0, 5.0]
PAPER_FIG4_BETAS = [1.0, 10.0]


def _value(step, key):
    found = [arg.split("=", 1)[1] for arg in step.args if arg.startswith(key + "=")]
    assert len(found) == 1, (step.name, key, found)  # each key given once: no setting silently overridden
    return found[0]


def _numbers(text):
    return [float(v) for v in text.strip("[]").split(",")]


@pytest.mark.parametrize("scale", ["small", "medium"])
def test_both_overfit_steps_sweep_beta_from_zero_on_few_images_with_a_late_drop(scale):
    steps = {step.name: step for step in make_plan(scale, cifar10=True).steps}
    for name, paper in (("figure5-overfit", PAPER_FIG5_BETAS), ("figure4-overfit", PAPER_FIG4_BETAS)):
        step = steps[name]
        assert step.command == "sweep" and step.note
        images, epochs = int(_value(step, "num_train")), int(_value(step, "epochs"))
        drops = _numbers(_value(step, "lr_drops"))
        assert images == OVERFIT_IMAGES < 5000 and epochs >= 20
        assert drops == [round(0.75 * epochs)]  # one drop, at 3/4 of training
        betas = _numbers(_value(step, "betas"))
        # β = 0, then the paper's β rescaled by the data ratio (the KL weighs on each image as in the paper).
        assert betas == pytest.approx([0.0] + [b * images / 50_000 for b in paper])
        assert len(_numbers(_value(step, "seeds"))) >= 2
    assert "softplus" in steps["figure5-overfit"].args and _value(steps["figure5-overfit"], "sweep_over") == "beta"
    # Each overfit step comes after its figure's own step, whose larger runs stay for the other trends.
    order = [step.name for step in make_plan(scale, cifar10=True).steps]
    assert order.index("figure5-overfit") == order.index("figure5") + 1
    assert order.index("figure4-overfit") == order.index("figure4") + 1


def test_the_medium_overfit_steps_run_on_fashion_mnist_and_are_estimated():
    plan = make_plan("medium", cifar10=False)
    steps = {step.name: step for step in plan.steps}
    assert _value(steps["figure5-overfit"], "dataset") == "fashion"
    assert _value(steps["figure4-overfit"], "dataset") == "fashion"
    assert steps["figure4-overfit"].stand_in == steps["figure4"].stand_in
    assert _value(steps["figure5-overfit"], "seeds") == "[0,1,2]"
    for name in ("figure5-overfit", "figure4-overfit"):
        assert MEDIUM_ESTIMATED_MINUTES[name] <= 12  # about 10-12 minutes each on 2 AVX-512 cores
        assert steps[name].expected_s == pytest.approx(60 * MEDIUM_ESTIMATED_MINUTES[name] * AVX2_SLOWDOWN, rel=1e-2)
    assert set(MEDIUM_EXPECTED_MINUTES) == set(steps)


def test_scales_without_the_setting_and_small_without_figure4_add_no_overfit_step():
    for scale in ("tiny", "full"):
        assert not any("overfit" in step.name for step in make_plan(scale, cifar10=True).steps)
    small = make_plan("small", cifar10=False)
    names = {step.name for step in small.steps}
    assert "figure5-overfit" in names and "figure4-overfit" not in names and "figure4" in small.skipped
    assert "overfit" in SETTINGS["small"] and "overfit" in SETTINGS["medium"]


def test_replacing_drops_the_replaced_keys_and_keeps_the_rest_in_order():
    assert replacing(("a=1", "b=2", "softplus", "c=3"), ("b=5", "d=4")) == ("a=1", "softplus", "c=3", "b=5", "d=4")
    assert replacing(("a=1",), ()) == ("a=1",)
