"""A plan is data (each step's experiment, command, named configs and values), rendered to a command line in one
place: the rendering is pinned to the commands the committed medium plan actually ran, since its ledger reuses a
step only where the command is the same."""

import json

import pytest

from infodropout.paper.paths import REPO_ROOT as ROOT
from infodropout.paper.reproduction.plans import Step, command_value, joined, make_plan
from infodropout.paper.reproduction.ledger import ran_as_planned, read_ledger


# The medium plan's steps whose command changed (more seeds, β, methods or k; every method's learning rate) and
# that have not run since: a sweep keeps the runs it has and trains the new ones. A step leaves this set once its
# new command has run and its ledger entry is committed.
CHANGED: set[str] = {"figure2-sweep", "figure2-beta0.0", "figure2-beta0.0016", "figure2-beta0.016", "figure2-beta0.08",
                     "probes-figure2"}


def test_the_medium_plan_renders_every_command_its_committed_ledger_ran():
    ledger = read_ledger(ROOT / "results" / "medium" / "steps.json")
    plan = make_plan("medium", cifar10=False)  # the committed steps ran where CIFAR-10 is absent
    assert {step.name for step in plan.steps} - set(ledger) <= CHANGED
    assert set(ledger) <= {step.name for step in plan.steps}
    for step in plan.steps:
        if step.name not in ledger:
            continue
        # A changed step's ledger holds its former command until it runs again; every other, the plan's (the folders
        # reproduce.py passed on, --models-dir and --datasets-dir, are not the plan's).
        assert ran_as_planned(ledger[step.name], step) == (step.name not in CHANGED), \
            step.name


def test_values_are_written_as_the_command_line_types_them():
    assert command_value([4, 6, 8]) == "[4,6,8]" and command_value([0.05, 0.1]) == "[0.05,0.1]"
    assert command_value([]) == "[]" and command_value(["information", "binary"]) == "[information,binary]"
    assert command_value(0.3) == "0.3" and command_value(3.0) == "3.0" and command_value("sample") == "sample"
    step = Step("figure5", "cifar", "sweep", ("softplus",), {"betas": [0.05, 0.1], "filter_percentage": 0.25})
    assert step.argv(ROOT / "P") == ["cifar.py", "sweep", "with", "softplus", "betas=[0.05,0.1]",
                                     "filter_percentage=0.25", "verbose=2", f"plots_dir={ROOT / 'P' / 'figure5'}"]


def test_a_step_names_its_experiment_and_sets_each_value_once():
    with pytest.raises(ValueError, match="without .py"):
        Step("a", "cifar.py", "train")
    assert list(joined({"a": 1, "b": 2}, {"c": 3})) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="sets b twice"):
        joined({"a": 1, "b": 2}, {"b": 3})


def test_a_scale_is_the_one_below_it_with_its_changes():
    from infodropout.paper.reproduction.scales import SETTINGS, UNSET, derive

    derived = derive({"a": 1, "b": [2], "c": 3}, b=[5], c=UNSET, d=4)
    assert list(derived.items()) == [("a", 1), ("b", [5]), ("d", 4)]  # b keeps its place, c is gone, d comes last

    def values(tree):
        return [v for item in tree.values() for v in (values(item) if isinstance(item, dict) else [item])]

    assert all(value is not UNSET for value in values(SETTINGS))
    # What a scale does not change is the one below it, down to the same objects.
    assert SETTINGS["small"]["ks"] is SETTINGS["tiny"]["ks"]
    assert SETTINGS["medium"]["overfit"] is SETTINGS["small"]["overfit"]


def test_every_step_of_every_plan_is_a_valid_typed_config_of_its_experiment():
    from infodropout.paper.reproduction.plans import SCALES, config_class

    for scale in SCALES:
        for cifar10 in (False, True):
            for step in make_plan(scale, cifar10).steps:
                config = step.experiment_config  # made (so checked) by make_plan too
                assert isinstance(config, config_class(step.experiment))
                named = config_class(step.experiment).named_configs
                for key, value in {**{k: v for name in step.configs for k, v in named[name].items()},
                                   **step.config}.items():
                    assert config[key] == value, (scale, step.name, key)


def test_a_scale_value_its_experiment_would_refuse_fails_when_the_plan_is_made(monkeypatch):
    from infodropout.paper.reproduction import plans
    from infodropout.paper.reproduction.scales import TINY, derive

    monkeypatch.setitem(plans.SETTINGS, "tiny", derive(TINY, cluttered=derive(TINY["cluttered"], betta=1.0)))
    with pytest.raises(TypeError, match="no config key 'betta'"):
        make_plan("tiny", cifar10=False)
    monkeypatch.setitem(plans.SETTINGS, "tiny", derive(TINY, mnist=derive(TINY["mnist"], epochs=0)))
    with pytest.raises(ValueError, match="invalid config value epochs=0"):
        make_plan("tiny", cifar10=False)


def test_a_scales_beta_is_derived_from_the_images_it_trains_on():
    from infodropout.paper.protocols import CIFAR, PAPER_TRAIN_IMAGES
    from infodropout.paper.reproduction.scales import SETTINGS, paper_betas, with_paper_beta, with_paper_betas

    # The one rule: β × images / the paper's 50,000, read from the settings' own num_train.
    assert with_paper_beta({"dataset": "fashion", "num_train": 10000}) == {"dataset": "fashion", "num_train": 10000,
                                                                          "beta": 0.6}
    assert with_paper_betas({"num_train": 1000, "betas": [9.0], "seed": 1}, [0, 1, 10]) == {
        "num_train": 1000, "betas": [0.0, 0.02, 0.2], "seed": 1}
    assert paper_betas([0.01, 0.5], 8000) == [0.0016, 0.08]
    # Cluttered MNIST's β stand for the paper's on the embedded sample's training canvases, as the data wing has them.
    from infodropout.paper.data.formats import CLUTTERED_SIZES
    from infodropout.paper.reproduction.scales import CLUTTERED_SAMPLE_CANVASES

    assert CLUTTERED_SAMPLE_CANVASES == CLUTTERED_SIZES["sample"][0]
    for scale in ("small", "medium"):
        for group in ("cifar_sample", "cifar_real", "cifar_fashion"):
            settings = SETTINGS[scale].get(group)
            if settings:
                assert settings["beta"] == pytest.approx(CIFAR["beta"] * settings["num_train"] / PAPER_TRAIN_IMAGES)
